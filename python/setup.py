"""Build hook beside pyproject.toml: a pure wheel of the package from the source tree, or, when
greentrain/bin/greentrain is present (`make wheel` copies the built binary there in a staging
copy of this folder), a platform wheel tagged py3-none-<platform>: the binary does not depend on
the Python version, only on the machine (architecture and the system libraries it links)."""
import os

from setuptools import setup

HERE = os.path.dirname(os.path.abspath(__file__))
options = {}
if os.path.exists(os.path.join(HERE, "greentrain", "bin", "greentrain")):
    from setuptools.dist import Distribution
    from wheel.bdist_wheel import bdist_wheel

    class BinaryDistribution(Distribution):
        """Installs to the platform's library folder, as a package with compiled code does."""

        def has_ext_modules(self):
            return True

    class PlatformWheel(bdist_wheel):
        def finalize_options(self):
            super().finalize_options()
            self.root_is_pure = False

        def get_tag(self):
            return ("py3", "none", super().get_tag()[2])

    options = {"cmdclass": {"bdist_wheel": PlatformWheel}, "distclass": BinaryDistribution}

setup(**options)
