#!/usr/bin/env bash
# `make demo`: the main job end to end on this machine, with what exists so far:
# write a manifest, validate it, plan the cluster, and generate every host's files.
set -euo pipefail
cd "$(dirname "$0")/.."
airstrap() { node bin/airstrap.js "$@"; }
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

demo=out/demo
mkdir -p "$demo"

step "airstrap init $demo/cluster.yaml"
airstrap init --force "$demo/cluster.yaml"

step "airstrap validate"
airstrap validate -f "$demo/cluster.yaml"

step "airstrap plan"
airstrap plan -f "$demo/cluster.yaml"

step "airstrap generate -o $demo/generated"
airstrap generate -f "$demo/cluster.yaml" -o "$demo/generated"
(cd "$demo/generated" && find hosts -type f | sort | sed 's/^/  /')

step "k8s-server-02's RKE2 config (the join token is shown as <token>)"
sed -E 's/^(token: ).*/\1<token from .airstrap\/token>/' "$demo/generated/hosts/k8s-server-02/etc/rancher/rke2/config.yaml"

step "what an operator's mistake looks like"
airstrap validate -f examples/invalid/wrong-types.yaml || echo "(exit code $?: the manifest is invalid)"

printf '\nDone. Files are in %s; the join token is in %s/.airstrap/token (mode 0600).\n' "$demo/generated" "$demo"
