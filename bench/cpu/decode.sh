#!/usr/bin/env bash
# Decode benchmark: how fast `greentrain data prepare` fills the image cache (list the folder,
# read each file, decode with TurboJPEG, DCT-scale, resize, write the memory-mapped cache and
# fsync it) on one thread and on every core, against PIL (what torchvision's ImageFolder decodes
# with: Image.open + convert("RGB") + resize, one process; nothing written) on the same files.
# Each line gives the wall time and the CPU time (user + sys): images per CPU-second is the
# per-core rate, and stays meaningful on a machine shared with other work.
#   - 64x64 RGB JPEGs (Fashion-MNIST converted, 7 000 per class = 70 000 files) at 64x64
#   - 224x224 RGB JPEGs (the study's size, 500 per class = 5 000 files) at 224x224 and at 64x64
# The trees are written first (page cache warm: this measures decoding, not the disk).
# usage: bench/cpu/decode.sh [path/to/greentrain] [work dir]   (one JSON line per measurement)
set -euo pipefail
GT=${1:-build/greentrain}
WORK=${2:-$(mktemp -d /tmp/greentrain-decode-bench-XXXXXX)}
here=$(dirname "$0")
cores=$(nproc)
mkdir -p "$WORK"
[ -d "$WORK/fm64" ] || "$GT" data images --from fashion-mnist --out "$WORK/fm64" --size 64 \
  --color rgb --format jpeg --quality 90 --splits 6000,0,1000 >/dev/null
[ -d "$WORK/fm224" ] || "$GT" data images --from fashion-mnist --out "$WORK/fm224" --size 224 \
  --color rgb --format jpeg --quality 90 --splits 400,0,100 >/dev/null

measure() {  # tree, size, threads: wall and CPU time (user + sys) of `data prepare`
  rm -rf "$WORK/cache"
  local out
  out=$( { /usr/bin/time -f 'TIME %e %U %S' "$GT" data prepare --data "folder:$WORK/$1" \
    --cache-dir "$WORK/cache" --image-size "$2" --color rgb --threads "$3"; } 2>&1)
  local images time
  images=$(echo "$out" | sed -nE 's/^cache .*\(([0-9]+) images decoded in .*/\1/p')
  time=$(echo "$out" | sed -n 's/^TIME //p')
  /usr/bin/python3 -c "import json; n=$images; wall, user, sys = map(float, '$time'.split()); \
print(json.dumps({'framework': 'greentrain', 'tree': '$1', 'size': $2, 'threads': $3, \
'images': n, 'wall_s': wall, 'cpu_s': round(user + sys, 2), 'images_per_s': round(n / wall), \
'images_per_cpu_s': round(n / (user + sys))}))"
}

for spec in "fm64 64" "fm224 224" "fm224 64"; do
  set -- $spec
  measure "$1" "$2" 1
  [ "$cores" -gt 1 ] && measure "$1" "$2" "$cores"
  /usr/bin/python3 "$here/pil_decode.py" "$WORK/$1" --size "$2"
done
echo "{\"work_dir\": \"$WORK\", \"cores\": $cores, \"codecs\": \"$(dpkg-query -W -f='libjpeg-turbo ${Version}' libturbojpeg0), $(dpkg-query -W -f='libspng ${Version}' libspng0)\"}"
