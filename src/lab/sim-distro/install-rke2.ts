/**
 * SIMULATION of get.rke2.io's install.sh for the lab: the same variables and the same result on
 * disk (tarball unpacked under the prefix, images copied, rke2-server/rke2-agent units installed,
 * nothing started), but it installs airstrap's simulated rke2.
 */
export function renderRke2InstallScript(options: { version: string; mirrorBase: string }): string {
  return `#!/bin/sh
# SIMULATION: airstrap lab's stand-in for the RKE2 install script (https://get.rke2.io).
# It installs a SIMULATED rke2 ${options.version} for the airstrap lab only; it is not RKE2.
# Honours: INSTALL_RKE2_ARTIFACT_PATH, INSTALL_RKE2_TYPE, INSTALL_RKE2_VERSION, INSTALL_RKE2_METHOD,
# INSTALL_RKE2_TAR_PREFIX, INSTALL_RKE2_AGENT_IMAGES_DIR, INSTALL_RKE2_SKIP_RELOAD.
set -e

info() { echo "[INFO] " "$@"; }
fatal() { echo "[ERROR] " "$@" >&2; exit 1; }

INSTALL_RKE2_TYPE="\${INSTALL_RKE2_TYPE:-server}"
INSTALL_RKE2_VERSION="\${INSTALL_RKE2_VERSION:-${options.version}}"
INSTALL_RKE2_METHOD="\${INSTALL_RKE2_METHOD:-tar}"
INSTALL_RKE2_TAR_PREFIX="\${INSTALL_RKE2_TAR_PREFIX:-/usr/local}"
INSTALL_RKE2_AGENT_IMAGES_DIR="\${INSTALL_RKE2_AGENT_IMAGES_DIR:-/var/lib/rancher/rke2/agent/images}"
MIRROR="\${INSTALL_RKE2_SIMULATION_MIRROR:-${options.mirrorBase}}"

case "$INSTALL_RKE2_TYPE" in
  server|agent) ;;
  *) fatal "invalid INSTALL_RKE2_TYPE '$INSTALL_RKE2_TYPE': server or agent" ;;
esac
[ "$INSTALL_RKE2_METHOD" = tar ] || fatal "the simulation installs with INSTALL_RKE2_METHOD=tar only"
[ "$(id -u)" -eq 0 ] || fatal "you need to be root to perform this install"

case "$(uname -m)" in
  x86_64|amd64) ARCH=amd64 ;;
  aarch64|arm64) ARCH=arm64 ;;
  *) fatal "unsupported architecture $(uname -m)" ;;
esac

TMP_DIR=$(mktemp -d -t rke2-install.XXXXXXXXXX)
trap 'rm -rf "$TMP_DIR"' EXIT
TARBALL="rke2.linux-$ARCH.tar.gz"
SUMS="sha256sum-$ARCH.txt"
IMAGES="rke2-images.linux-$ARCH.tar.zst"

if [ -n "$INSTALL_RKE2_ARTIFACT_PATH" ]; then
  info "staging local checksums from $INSTALL_RKE2_ARTIFACT_PATH/$SUMS"
  cp -f "$INSTALL_RKE2_ARTIFACT_PATH/$SUMS" "$TMP_DIR/$SUMS" || fatal "$SUMS not found in $INSTALL_RKE2_ARTIFACT_PATH"
  info "staging tarball from $INSTALL_RKE2_ARTIFACT_PATH/$TARBALL"
  cp -f "$INSTALL_RKE2_ARTIFACT_PATH/$TARBALL" "$TMP_DIR/$TARBALL" || fatal "$TARBALL not found in $INSTALL_RKE2_ARTIFACT_PATH"
  if [ -f "$INSTALL_RKE2_ARTIFACT_PATH/$IMAGES" ]; then
    info "staging zst airgap image tarball from $INSTALL_RKE2_ARTIFACT_PATH/$IMAGES"
    cp -f "$INSTALL_RKE2_ARTIFACT_PATH/$IMAGES" "$TMP_DIR/$IMAGES"
  fi
else
  VERSION_PATH=$(printf '%s' "$INSTALL_RKE2_VERSION" | sed 's/+/%2B/g')
  for f in "$SUMS" "$TARBALL"; do
    info "downloading $MIRROR/$VERSION_PATH/$f"
    curl -fsSL -o "$TMP_DIR/$f" "$MIRROR/$VERSION_PATH/$f" || fatal "download of $f failed"
  done
fi

verify() {
  expected=$(grep " $1\\$" "$TMP_DIR/$SUMS" | awk '{print $1}')
  [ -n "$expected" ] || fatal "$1 is not listed in $SUMS"
  actual=$(sha256sum "$TMP_DIR/$1" | awk '{print $1}')
  [ "$expected" = "$actual" ] || fatal "download sha256 does not match $expected, got $actual for $1"
}
verify "$TARBALL"
[ -f "$TMP_DIR/$IMAGES" ] && verify "$IMAGES"

if [ -f "$TMP_DIR/$IMAGES" ]; then
  mkdir -p "$INSTALL_RKE2_AGENT_IMAGES_DIR"
  cp -f "$TMP_DIR/$IMAGES" "$INSTALL_RKE2_AGENT_IMAGES_DIR/$IMAGES"
fi
if [ -n "$INSTALL_RKE2_ARTIFACT_PATH" ]; then
  for f in "$INSTALL_RKE2_ARTIFACT_PATH"/rke2-images-*.tar*; do
    [ -f "$f" ] || continue
    mkdir -p "$INSTALL_RKE2_AGENT_IMAGES_DIR"
    cp -f "$f" "$INSTALL_RKE2_AGENT_IMAGES_DIR/"
  done
fi

info "installing tarball to $INSTALL_RKE2_TAR_PREFIX"
mkdir -p "$INSTALL_RKE2_TAR_PREFIX"
tar xzf "$TMP_DIR/$TARBALL" -C "$INSTALL_RKE2_TAR_PREFIX"
if [ "$INSTALL_RKE2_TAR_PREFIX" != /usr/local ]; then
  for unit in rke2-server rke2-agent; do
    sed -i "s|/usr/local/bin/rke2|$INSTALL_RKE2_TAR_PREFIX/bin/rke2|" "$INSTALL_RKE2_TAR_PREFIX/lib/systemd/system/$unit.service"
    mkdir -p /etc/systemd/system
    cp -f "$INSTALL_RKE2_TAR_PREFIX/lib/systemd/system/$unit.service" /etc/systemd/system/
  done
fi
if [ -z "$INSTALL_RKE2_SKIP_RELOAD" ] && command -v systemctl >/dev/null 2>&1; then
  systemctl daemon-reload || true
fi
info "SIMULATED rke2 $INSTALL_RKE2_VERSION installed; start it with: systemctl enable --now rke2-$INSTALL_RKE2_TYPE.service"
`;
}
