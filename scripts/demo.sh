#!/usr/bin/env bash
# `make demo`: the main job end to end on this machine. As root with the lab's prerequisites, a whole
# simulated air-gapped site (examples/lab.yaml: 3 servers + 4 agents) is brought up and airstrap
# installs a cluster on it over SSH; `make demo-down` removes the site. Elsewhere it shows what it
# can without machines: validate, plan and generate.
set -euo pipefail
cd "$(dirname "$0")/.."
airstrap() { node bin/airstrap.js "$@"; }
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

offline_demo() {
  local demo=out/demo
  mkdir -p "$demo"
  step "airstrap init --example $demo/cluster.yaml"
  airstrap init --example "$demo/cluster.yaml" --force
  step "airstrap validate"
  airstrap validate -f "$demo/cluster.yaml"
  step "airstrap plan"
  airstrap plan -f "$demo/cluster.yaml"
  step "airstrap generate -o $demo/generated"
  airstrap generate -f "$demo/cluster.yaml" -o "$demo/generated"
  (cd "$demo/generated" && find hosts -type f | sort | sed 's/^/  /')
  step "what an operator's mistake looks like"
  airstrap validate -f examples/invalid/wrong-types.yaml || echo "(exit code $?: the manifest is invalid)"
}

manifest=examples/lab.yaml
if [ "$(id -u)" -ne 0 ] || ! command -v systemd-nspawn >/dev/null || ! command -v debootstrap >/dev/null; then
  echo "The lab needs root, systemd-nspawn and debootstrap (apt-get install systemd-container debootstrap);"
  echo "showing the flow without machines instead."
  offline_demo
  exit 0
fi

step "airstrap lab up -f $manifest   (a simulated site: hosts with systemd and sshd on a bridge with no uplink)"
airstrap lab up -f "$manifest"
# After lab up: the manifest names the lab's SSH identity, which lab up creates.
step "airstrap validate -f $manifest"
airstrap validate -f "$manifest"
step "airstrap artifacts pull -f $manifest   (the SIMULATED RKE2 release from the lab's mirror into the store)"
airstrap artifacts pull -f "$manifest"
step "make dist   (the single-file executable that every node runs)"
make --no-print-directory dist
step "airstrap up -f $manifest   (install over SSH, wait until every node is Ready)"
time airstrap up -f "$manifest" --node-binary "dist/airstrap-linux-$(node -p 'process.arch === "x64" ? "amd64" : process.arch')"
step "airstrap lab status"
airstrap lab status -f "$manifest"
printf '\nThe site is up. Kubeconfig: %s (its server is the cluster FQDN, resolved by the nodes).\n' "examples/.airstrap/kubeconfig"
printf 'Try: airstrap lab kill lab-server-01 -f %s && airstrap wait -f %s\nRemove it all with: make demo-down\n' "$manifest" "$manifest"
