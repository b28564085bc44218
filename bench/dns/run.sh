#!/usr/bin/env bash
# airstrap DNS vs dnsmasq vs unbound under dnsperf, same records, same run. Not part of `make test`.
# Env: DNS_BENCH_SECONDS (per dnsperf run, default 3), DNS_BENCH_ROUNDS (default 5), DNS_BENCH_CLIENTS (default 4).
set -euo pipefail
cd "$(dirname "$0")/../.."
for tool in dnsperf dnsmasq unbound dig; do
  command -v "$tool" >/dev/null || { echo "missing $tool: run scripts/install-deps.sh" >&2; exit 1; }
done
exec timeout 300 node --import tsx bench/dns/bench.ts
