#!/bin/sh
# The stats_reference fixture: writes every case's inputs and manifest into DIR (INPUTS), then
# has reference.py compute them all into DIR/reference.json. SciPy and statsmodels take about
# half a minute for it, so the result is kept in CACHE under the SHA-256 of the manifest, the
# inputs it names and reference.py: a second build on the same sources (the checked build after
# the normal one) copies it instead. A changed input or script changes the key, so a kept result
# is never stale; CACHE empty: no keeping.
#   reference_fixture.sh INPUTS DIR PYTHON REFERENCE_PY CACHE
set -eu
inputs=$1 dir=$2 python=$3 script=$4 cache=$5
"$inputs" "$dir"
# The manifest names its inputs by absolute path: the key reads it with DIR taken out.
key=$(cd "$dir" && { sed "s|$dir|DIR|g" manifest.json; cat $(find . -type f ! -name manifest.json ! -name 'reference.json*' | LC_ALL=C sort) "$script"; } | sha256sum | cut -c1-32)
if [ -n "$cache" ] && [ -f "$cache/$key.json" ]; then
  cp "$cache/$key.json" "$dir/reference.json.tmp" && mv "$dir/reference.json.tmp" "$dir/reference.json"
  echo "stats_reference: SciPy's values for these inputs kept from an earlier run ($cache/$key.json)"
  exit 0
fi
"$python" "$script" --batch "$dir/manifest.json" "$dir/reference.json"
if [ -n "$cache" ]; then
  mkdir -p "$cache" && cp "$dir/reference.json" "$cache/$key.json.tmp.$$" && mv "$cache/$key.json.tmp.$$" "$cache/$key.json"
fi
