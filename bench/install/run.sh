#!/usr/bin/env bash
# Wall time of `airstrap install` + `airstrap wait` in the lab: 1 server; 3 servers + N agents
# (N = 2, 6, 12); and 3 + 12 one host at a time (--concurrency 1), fresh hosts for each, in the
# same run. Prints a table and the ratios issue 8 targets. Not part of `make test`.
# Run under the machine's bench lock: flock /tmp/airstrap-bench.lock bash bench/install/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "$(id -u)" = 0 ] || { echo "SKIP: the lab needs root (run make bench as root for this one)"; exit 77; }

current=$(mktemp /tmp/airstrap-bench-install.XXXXXX)
cleanup() {
  # measure.ts removes each lab itself; this catches one left by a killed run.
  local file
  file=$(cat "$current" 2>/dev/null || true)
  if [ -n "$file" ] && [ -f "$file" ]; then
    timeout 60 node --import tsx src/cli/main.ts lab down -f "$file" >/dev/null 2>&1 || true
    rm -rf "$(dirname "$file")"
  fi
  rm -f "$current"
}
trap cleanup EXIT

INSTALL_BENCH_CURRENT="$current" timeout --kill-after=30 900 node --import tsx bench/install/measure.ts

if [ -x bench/install/fanout.sh ]; then bash bench/install/fanout.sh; fi
