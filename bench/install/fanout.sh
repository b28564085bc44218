#!/usr/bin/env bash
# Issue 8's fan-out figure: 1 GiB to N = 2, 6, 12 lab hosts, install's HTTP fan-out against scp to
# each host in turn, in the same run. Not part of `make test`. Needs root (the lab).
# Run under the machine's bench lock: flock /tmp/airstrap-bench.lock bash bench/install/fanout.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "$(id -u)" = 0 ] || { echo "the lab needs root" >&2; exit 1; }
timeout --kill-after=30 900 node --import tsx bench/install/fanout.ts
