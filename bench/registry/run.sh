#!/usr/bin/env bash
# airstrap registry vs docker-registry (Distribution 2.8): skopeo push and pull of a generated
# >= 1 GB multi-layer image, same machine, same run. Not part of `make test`.
# Env: REGISTRY_BENCH_LAYERS (default 8), REGISTRY_BENCH_LAYER_MIB (default 128), REGISTRY_BENCH_ROUNDS (default 2).
set -euo pipefail
cd "$(dirname "$0")/../.."
for tool in skopeo docker-registry tar; do
  command -v "$tool" >/dev/null || { echo "missing $tool: run scripts/install-deps.sh" >&2; exit 1; }
done
exec timeout 300 node --import tsx bench/registry/bench.ts
