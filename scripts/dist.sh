#!/usr/bin/env bash
# Wraps build/airstrap.cjs into a Node single executable application: one file that runs on a
# machine without Node.js. This is the file shipped to every node for the per-node services.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: scripts/dist.sh OUTPUT [BUNDLE]}
# The executable is a copy of the node on PATH, and the load balancer's data path uses Node's
# internal TCP bindings: ship only the version they were tested on (the pin: .node-version).
expected="v$(tr -d '[:space:]' < .node-version)"
found=$(node --version 2>/dev/null || echo "none")
if [ "$found" != "$expected" ]; then
  echo "scripts/dist.sh: the executable is built from Node $expected (pinned in .node-version), but the node on PATH is $found" >&2
  echo "hint: put Node $expected first on PATH (nvm and fnm read .node-version); change the pin only after the load balancer's tests pass on the new version" >&2
  exit 1
fi
bundle=${2:-build/airstrap.cjs}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$(dirname "$target")"
cat > "$work/sea-config.json" <<JSON
{ "main": "$bundle", "output": "$work/airstrap.blob", "disableExperimentalSEAWarning": true, "useCodeCache": true }
JSON
node --experimental-sea-config "$work/sea-config.json" >/dev/null 2>&1
cp "$(command -v node)" "$work/airstrap"
chmod u+w "$work/airstrap"
# Debug symbols are most of the Node binary: strip before injecting (stripping after breaks the blob).
strip --strip-all "$work/airstrap" 2>/dev/null || true
npx postject "$work/airstrap" NODE_SEA_BLOB "$work/airstrap.blob" \
  --sentinel-fuse NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2 >/dev/null 2>&1
mv "$work/airstrap" "$target"
echo "wrote $target ($(du -h "$target" | cut -f1))"
