#!/usr/bin/env bash
# Issue 15's PXE floor: power-on to SSH for 1, 2 and 4 lab VMs booted by dnsmasq + a static HTTP
# server (root; builds the lab's netboot image once). Not part of `make test`.
# Env: PXE_BENCH_VMS (default 1,2,4), PXE_BENCH_TIMEOUT_S (per boot, default 600).
set -euo pipefail
cd "$(dirname "$0")/../.."
for tool in qemu-system-x86_64 dnsmasq mksquashfs ssh; do
  command -v "$tool" >/dev/null || { echo "missing $tool: run scripts/install-deps.sh" >&2; exit 1; }
done
exec timeout 3600 node --import tsx bench/pxe/boot-floor.ts
