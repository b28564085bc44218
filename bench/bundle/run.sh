#!/usr/bin/env bash
# Bundle create/verify/load vs sha256sum and tar over the same generated data, in one run.
# BENCH_BUNDLE_MIB (default 2048) sets the data size; BENCH_DIR (default /tmp/airstrap-bench-bundle) the scratch dir.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -x /usr/bin/time ] || { echo "missing GNU time (/usr/bin/time): run scripts/install-deps.sh" >&2; exit 1; }
exec timeout 600 node --import tsx bench/bundle/bench.ts
