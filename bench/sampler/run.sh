#!/bin/sh
# Sampler overhead benchmark: runs `greentrain measure -- sleep D` at several sampling intervals
# and reports the CPU time of the sampler threads (sampler_cpu_s in the JSON summary) and of the
# whole greentrain process (getrusage of the child, which includes start-up and `sleep`), as a
# percentage of one core over the run. Target: below 0.5 % at 100 ms.
# Usage: bench/sampler/run.sh [GREENTRAIN_BINARY] [DURATION_S] [INTERVALS_MS...]
set -eu
BIN=${1:-build/greentrain}
DUR=${2:-30}
shift 2 2>/dev/null || shift $#
INTERVALS=${*:-"100 10"}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
echo "| interval_ms | duration_s | samples | sampler_cpu_s | sampler % of one core | process cpu_s | process % of one core | meters |"
echo "|---:|---:|---:|---:|---:|---:|---:|---|"
for I in $INTERVALS; do
  "$PY" - "$BIN" "$DUR" "$I" "$TMP/m.json" <<'PYEOF'
import json, resource, subprocess, sys
bin_, dur, interval, out = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
subprocess.run([bin_, "measure", "--interval-ms", interval, "--json", out, "--trace", out + ".csv",
                "--", "sleep", dur], check=True, stderr=subprocess.DEVNULL)
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
j = json.load(open(out))
d = j["duration_s"]
cpu = ru.ru_utime + ru.ru_stime
samples = sum(1 for _ in open(out + ".csv")) - 1
meters = ", ".join(f'{c["component"]}:{c["model"].split("(")[0]}' for c in j["components"])
print(f'| {interval} | {d:.1f} | {samples} | {j["sampler_cpu_s"]:.4f} | '
      f'{100*j["sampler_cpu_s"]/d:.3f} % | {cpu:.3f} | {100*cpu/d:.3f} % | {meters} |')
PYEOF
done
