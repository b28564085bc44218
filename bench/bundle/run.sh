#!/usr/bin/env bash
# Bundle create/verify/load vs sha256sum and tar over the same generated data, in one run.
# BENCH_BUNDLE_MIB (default 2048) sets the data size; BENCH_DIR (default /tmp/airstrap-bench-bundle) the scratch dir.
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v /usr/bin/time >/dev/null || { echo "SKIP: needs GNU time (scripts/install-deps.sh installs it)"; exit 0; }
exec timeout 600 node --import tsx bench/bundle/bench.ts
