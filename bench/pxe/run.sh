#!/usr/bin/env bash
# airstrap's TFTP server vs dnsmasq's TFTP, same clients (curl; atftp with a window), same file, same run. Not part of
# `make test`. Needs root (both serve port 69, on 127.0.0.2 and 127.0.0.3).
# Env: TFTP_BENCH_ROUNDS (interleaved runs per server and block size, default 3), TFTP_BENCH_MIB (file size, default 30).
set -euo pipefail
cd "$(dirname "$0")/../.."
for tool in dnsmasq curl atftp; do
  command -v "$tool" >/dev/null || { echo "missing $tool: run scripts/install-deps.sh" >&2; exit 1; }
done
exec timeout 300 node --import tsx bench/pxe/tftp.ts
