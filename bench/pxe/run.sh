#!/usr/bin/env bash
# airstrap's DHCP (full and proxy mode) vs dnsmasq under a 200-MAC boot storm, same run, in
# network namespaces this bench creates and removes (needs root). Not part of `make test`.
# Env: DHCP_BENCH_ROUNDS (storm rounds per server and mode, default 20).
set -euo pipefail
cd "$(dirname "$0")/../.."
for tool in dnsmasq ip; do
  command -v "$tool" >/dev/null || { echo "missing $tool: run scripts/install-deps.sh" >&2; exit 1; }
done
exec timeout 300 node --import tsx bench/pxe/dhcp.ts
