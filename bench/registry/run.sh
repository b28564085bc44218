#!/usr/bin/env bash
# airstrap registry vs docker-registry (Distribution 2.8), same machine, same run. Not part of `make test`.
#   bench/registry/run.sh        8 uncompressed layers of 128 MiB, no auth: skopeo push, pull, curl
#   bench/registry/run.sh pull   issue 20: 4 gzip layers of 256 MiB, htpasswd on both: skopeo push
#                                and pull, ctr pull through hosts.toml, 10 nodes pulling at once
# Env: REGISTRY_BENCH_LAYERS, REGISTRY_BENCH_LAYER_MIB, REGISTRY_BENCH_ROUNDS (default 3),
#      pull only: REGISTRY_BENCH_NODES (default 10), REGISTRY_BENCH_STEPS (e.g. pull,ctr; the push always runs),
#      REGISTRY_BENCH_NODE_FLAGS (NODE_OPTIONS for the airstrap executable),
#      REGISTRY_BENCH_WARM_UP=0 (no untimed skopeo and ctr pull from each server before the timed ones).
# airstrap runs as the single executable `make dist` ships (built here by scripts/dist.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
for tool in skopeo docker-registry tar gzip htpasswd curl containerd ctr; do
  command -v "$tool" >/dev/null || { echo "missing $tool: run scripts/install-deps.sh" >&2; exit 1; }
done
case "${1:-}" in
  pull) exec timeout 900 node --import tsx bench/registry/pull.ts ;;
  "") exec timeout 300 node --import tsx bench/registry/bench.ts ;;
  *) echo "usage: $0 [pull]" >&2; exit 2 ;;
esac
