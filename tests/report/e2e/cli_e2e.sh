#!/usr/bin/env bash
# End-to-end test of `greentrain report` from real databases: writes the synthetic experiments
# as databases, runs the command on each (HTML + Markdown), checks the pages in headless
# Chromium (check_pages.js), and checks the command's errors (exit 2 with one line for usage
# mistakes, exit 1 for a missing database).
# Usage: cli_e2e.sh [--no-browser] GREENTRAIN STORE_FIXTURE OUT_DIR (--no-browser: everything
# but the Chromium checks, for the sanitizer build).
set -euo pipefail
browser=1
if [ "${1:-}" = --no-browser ]; then browser=0; shift; fi
greentrain=$1 fixture=$2 out=$3
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$out" && mkdir -p "$out"
"$fixture" "$out"
pages=()
for name in full failed single nogpu epochs; do
  "$greentrain" report --db "$out/$name.db" --html "$out/$name.html" --md "$out/$name.md" --country FRA,USA --country World
  grep -q '^# greentrain report: synthetic' "$out/$name.md"
  pages+=("$out/$name.html")
done

expect_error() {  # expect_error CODE PATTERN -- ARGS...
  local code=$1 pattern=$2; shift 3
  set +e; err=$("$greentrain" "$@" 2>&1 >/dev/null); rc=$?; set -e
  if [ "$rc" -ne "$code" ] || ! grep -q -- "$pattern" <<<"$err" || [ "$(wc -l <<<"$err")" -ne 1 ]; then
    echo "FAIL: greentrain $* → exit $rc, stderr: $err (expected exit $code and one line matching '$pattern')"; exit 1
  fi
}
expect_error 2 "give --html" -- report --db "$out/full.db"
expect_error 1 "no such database" -- report --db "$out/missing.db" --html "$out/x.html"
expect_error 2 "XYZ" -- report --db "$out/full.db" --html "$out/x.html" --country XYZ
expect_error 2 "nope" -- report --db "$out/full.db" --experiment nope --html "$out/x.html"
expect_error 1 "$out/no-such-dir/r.html" -- report --db "$out/full.db" --html "$out/no-such-dir/r.html"
echo "ok   command-line errors"

if [ "$browser" = 1 ]; then
  node "$here/check_pages.js" "$out" "${pages[@]}"
else
  echo "skip pages in Chromium (--no-browser)"
fi
