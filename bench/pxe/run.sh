#!/usr/bin/env bash
# The PXE boot services against dnsmasq, same machine, same run. Not part of `make test`.
#  - TFTP: airstrap's server vs dnsmasq's, same clients (curl; atftp with a window), same file; both serve
#    port 69, on 127.0.0.2 and 127.0.0.3. Env: TFTP_BENCH_ROUNDS (default 3), TFTP_BENCH_MIB (default 30).
#  - DHCP: full and proxy mode under a 200-MAC boot storm, in network namespaces this bench creates and
#    removes, against airstrap, dnsmasq and the floor (bench/pxe/dhcp-floor.ts: the least a Node program
#    can do); latency and offers/s from tcpdump at each server's interface. Env: DHCP_BENCH_ROUNDS
#    (rotating rounds per mode, default 8), DHCP_BENCH_BURSTS (bursts per server and round, default 4),
#    DHCP_BENCH_WARMUP (storms per server before measuring, default 30).
#  - At the end, one table of the headline figures of both, with the targets and the load average.
#  - bench/pxe/dhcp-instructions.ts (separately): airstrap's instructions per DISCOVER under callgrind.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: needs root (port 69 and network namespaces)"
  exit 77
fi
for tool in dnsmasq curl atftp ip tcpdump; do
  command -v "$tool" >/dev/null || { echo "missing $tool: run scripts/install-deps.sh" >&2; exit 1; }
done
PXE_BENCH_SUMMARY="$(mktemp)"
export PXE_BENCH_SUMMARY
trap 'rm -f "$PXE_BENCH_SUMMARY"' EXIT
timeout 600 node --import tsx bench/pxe/tftp.ts
timeout 1200 node --import tsx bench/pxe/dhcp.ts
node --import tsx bench/pxe/summary.ts "$PXE_BENCH_SUMMARY"
