#!/usr/bin/env bash
# Installs what `make test` and `make demo` need: npm packages and the Debian packages listed in
# scripts/debian-packages.txt that are not installed yet. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

# `npm install` rather than `npm ci`: the lock lists optional per-platform binaries (Biome's for
# Windows, macOS, Android) that some package mirrors do not carry, and `npm ci` refuses to go on
# without them; `npm install` installs exactly the locked versions and skips what this platform
# does not need.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm install --no-audit --no-fund --loglevel=error
fi

mapfile -t wanted < <(sed -e 's/#.*//' -e 's/[[:space:]]*$//' scripts/debian-packages.txt | grep -v '^$' | awk '{print $1}')
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
# A line may name alternatives, a|b: any one installed will do; the first is the one installed.
missing=()
for entry in "${wanted[@]}"; do
  IFS='|' read -ra choices <<<"$entry"
  have=""
  for pkg in "${choices[@]}"; do
    if installed "$pkg"; then have=$pkg; break; fi
  done
  [ -n "$have" ] || missing+=("${choices[0]}")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  # Retry while another apt/dpkg holds the lock.
  for attempt in 1 2 3 4 5 6; do
    if "${sudo_cmd[@]}" apt-get update -qq && DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
      break
    fi
    [ "$attempt" -eq 6 ] && { echo "apt-get failed to install: ${missing[*]}" >&2; exit 1; }
    sleep 10
  done
fi
