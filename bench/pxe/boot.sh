#!/usr/bin/env bash
# Issue 15's PXE boot benchmark: power-on to SSH for 1, 2 and 4 lab VMs started together, booted by
# the floor (dnsmasq + a static HTTP server) and by `airstrap serve` (its single-file executable),
# same netboot image, same Ignition, alternating order; the ratio and where the time goes per VM;
# before that, bench/pxe/http.ts times the same downloads from both HTTP servers on loopback; after
# each pair, `airstrap init` on as many VMs (the lab build, built-in Ignition with data disks):
# power-on to SSH and to Ready.
# Root; builds the lab's netboot image once. Not part of `make test`.
# Env: PXE_BENCH_VMS (default 1,2,4), PXE_BENCH_SETUPS (default floor,airstrap,init),
#      PXE_BENCH_TIMEOUT_S (per boot, default 600).
set -euo pipefail
cd "$(dirname "$0")/../.."
for tool in qemu-system-x86_64 dnsmasq mksquashfs ssh; do
  command -v "$tool" >/dev/null || { echo "missing $tool: run scripts/install-deps.sh" >&2; exit 1; }
done
# The servers' share alone first: the same downloads from both HTTP servers on loopback, no VMs.
timeout 600 node --import tsx bench/pxe/http.ts
exec timeout 10800 node --import tsx bench/pxe/boot.ts
