# Sourced by the device scripts of bench/python (run_gpu.sh, run_callbacks.sh) with the default
# name of their results folder: sets DIR (the folder holding greentrain, python/, bench/python/
# and maybe data/; default: this file's folder's grandparent), OUT (default ./NAME), the
# environment that finds greentrain and the package, GREENTRAIN_DATA when DIR/data holds
# Fashion-MNIST, `save` (packs OUT into $TARBALL when set, after every step, so a machine that
# returns only a few files, or a time limit that cuts the last step, still gets everything
# done), writes OUT/env.txt (date, GPU, Python, PyTorch, greentrain) and changes to DIR.
DIR=${DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
OUT=${OUT:-$PWD/$1}
mkdir -p "$OUT"
export PATH="$DIR:$PATH" GREENTRAIN_BIN="$DIR/greentrain" PYTHONPATH="$DIR/python"
if [ -e "$DIR/data/train-images-idx3-ubyte.gz" ]; then export GREENTRAIN_DATA="$DIR/data"; fi
cd "$DIR"
save() { if [ -n "${TARBALL:-}" ]; then tar czf "$TARBALL" --exclude="$(basename "$TARBALL")" -C "$OUT" .; fi; }
{
  date -u +%FT%TZ
  nvidia-smi --query-gpu=name,driver_version,power.limit --format=csv,noheader
  python3 -c 'import torch, sys; print("python", sys.version.split()[0], "torch", torch.__version__, "cuda", torch.version.cuda)'
  greentrain --version
} > "$OUT/env.txt" 2>&1
