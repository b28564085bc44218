#!/usr/bin/env bash
# The status page: bytes of its first load and the server's CPU while 10 Chromium pages watch a
# simulated 15-host install, against the same run with no dashboard. Loopback only. Not part of `make test`.
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v chromium >/dev/null || { echo "missing chromium: run scripts/install-deps.sh" >&2; exit 1; }
timeout 300 node --import tsx bench/dashboard/bench.ts "$@"
