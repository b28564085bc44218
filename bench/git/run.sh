#!/usr/bin/env bash
# airstrap git serve vs git daemon (and git http-backend behind lighttpd when installed), same
# machine, same run: push, clone and shallow clone of 5,000 files / 50 MB. Not part of `make test`.
# Env: GIT_BENCH_FILES (5000), GIT_BENCH_MB (50), GIT_BENCH_ROUNDS (3).
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v git >/dev/null || { echo "missing git: run scripts/install-deps.sh" >&2; exit 1; }
exec timeout 900 node --import tsx bench/git/bench.ts
