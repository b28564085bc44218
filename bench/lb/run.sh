#!/usr/bin/env bash
# airstrap's load balancer vs HAProxy (one thread, equivalent TCP config), same run: iperf3
# throughput, wrk short-connection rate and latency, failover window. Not part of `make test`.
# Env: LB_BENCH_SECONDS (per run, default 4), LB_BENCH_ROUNDS (interleaved rounds, best of, default 3).
set -euo pipefail
cd "$(dirname "$0")/../.."
for tool in haproxy iperf3 wrk; do
  command -v "$tool" >/dev/null || { echo "missing $tool: run scripts/install-deps.sh" >&2; exit 1; }
done
exec timeout 300 node --import tsx bench/lb/bench.ts
