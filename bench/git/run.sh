#!/usr/bin/env bash
# airstrap git serve vs git daemon and vs git http-backend behind lighttpd's CGI (the "minimal
# CGI server" peer), same machine, same run: push, clone and shallow clone of 5,000 files / 50 MB.
# Not part of `make test`. Env: GIT_BENCH_FILES (5000), GIT_BENCH_MB (50), GIT_BENCH_ROUNDS (3).
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v git >/dev/null || { echo "missing git: run scripts/install-deps.sh" >&2; exit 1; }

# lighttpd is installed here, not by scripts/install-deps.sh: Debian's package starts a system web
# server on port 80 when installed. The bench runs its own lighttpd on loopback; the package's
# service is kept from starting (policy-rc.d answering 101 "action forbidden" while apt installs)
# and is not enabled at boot.
install_lighttpd() {
  [ "$(id -u)" -eq 0 ] || { echo "lighttpd is missing and installing it needs root: its column is left out" >&2; return 0; }
  local policy=/usr/sbin/policy-rc.d ours=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# bench/git: no service starts while lighttpd is installed\nexit 101\n' >"$policy"
    chmod 0755 "$policy"
    ours=$policy
  fi
  # shellcheck disable=SC2064
  trap "rm -f $ours" EXIT
  local ok=1
  for attempt in 1 2 3; do
    if apt-get install -y -qq --no-install-recommends lighttpd >/dev/null ||
      { apt-get update -qq && apt-get install -y -qq --no-install-recommends lighttpd >/dev/null; }; then
      ok=0
      break
    fi
    sleep 10
  done
  [ -n "$ours" ] && rm -f "$ours"
  trap - EXIT
  [ "$ok" -eq 0 ] || { echo "apt-get could not install lighttpd: its column is left out" >&2; return 0; }
  if [ -d /run/systemd/system ]; then
    systemctl disable --quiet lighttpd 2>/dev/null || true
    systemctl stop lighttpd 2>/dev/null || true
  fi
}
command -v lighttpd >/dev/null || [ -x /usr/sbin/lighttpd ] || install_lighttpd

exec timeout 900 node --import tsx bench/git/bench.ts
