/**
 * SIMULATION of get.k3s.io's install.sh for the lab: the same variables, binary location, unit
 * names (k3s / k3s-agent), environment file and enable/start behaviour; it installs airstrap's
 * simulated k3s.
 */
export function renderK3sInstallScript(options: { version: string; mirrorBase: string }): string {
  return `#!/bin/sh
# SIMULATION: airstrap lab's stand-in for the K3s install script (https://get.k3s.io).
# It installs a SIMULATED k3s ${options.version} for the airstrap lab only; it is not K3s.
# Honours: INSTALL_K3S_SKIP_DOWNLOAD, INSTALL_K3S_VERSION, INSTALL_K3S_BIN_DIR, INSTALL_K3S_SYSTEMD_DIR,
# INSTALL_K3S_EXEC, INSTALL_K3S_SKIP_ENABLE, INSTALL_K3S_SKIP_START, K3S_URL, K3S_TOKEN.
set -e

info() { echo "[INFO] " "$@"; }
fatal() { echo "[ERROR] " "$@" >&2; exit 1; }

INSTALL_K3S_VERSION="\${INSTALL_K3S_VERSION:-${options.version}}"
BIN_DIR="\${INSTALL_K3S_BIN_DIR:-/usr/local/bin}"
SYSTEMD_DIR="\${INSTALL_K3S_SYSTEMD_DIR:-/etc/systemd/system}"
MIRROR="\${INSTALL_K3S_SIMULATION_MIRROR:-${options.mirrorBase}}"
[ "$(id -u)" -eq 0 ] || fatal "you need to be root to perform this install"

CMD_K3S="$(echo "$INSTALL_K3S_EXEC" | awk '{print $1}')"
if [ -z "$CMD_K3S" ] || [ "$(echo "$CMD_K3S" | cut -c1)" = "-" ]; then
  if [ -n "$K3S_URL" ]; then CMD_K3S=agent; else CMD_K3S=server; fi
  EXEC_ARGS="$INSTALL_K3S_EXEC"
else
  EXEC_ARGS="$(echo "$INSTALL_K3S_EXEC" | cut -s -d' ' -f2-)"
fi
[ -n "$K3S_URL" ] && [ -z "$K3S_TOKEN" ] && [ -z "$K3S_TOKEN_FILE" ] && fatal "defaulted k3s exec command to 'agent' because K3S_URL is defined, but K3S_TOKEN or K3S_TOKEN_FILE is not defined"
if [ "$CMD_K3S" = server ]; then SYSTEM_NAME=k3s; else SYSTEM_NAME=k3s-agent; fi

case "$(uname -m)" in
  x86_64|amd64) ARCH=amd64; SUFFIX= ;;
  aarch64|arm64) ARCH=arm64; SUFFIX=-arm64 ;;
  *) fatal "unsupported architecture $(uname -m)" ;;
esac

if [ "$INSTALL_K3S_SKIP_DOWNLOAD" = true ]; then
  info "skipping k3s download and verify"
  [ -x "$BIN_DIR/k3s" ] || fatal "INSTALL_K3S_SKIP_DOWNLOAD=true but $BIN_DIR/k3s is missing"
else
  TMP_DIR=$(mktemp -d -t k3s-install.XXXXXXXXXX)
  trap 'rm -rf "$TMP_DIR"' EXIT
  VERSION_PATH=$(printf '%s' "$INSTALL_K3S_VERSION" | sed 's/+/%2B/g')
  info "downloading hash $MIRROR/$VERSION_PATH/sha256sum-$ARCH.txt"
  curl -fsSL -o "$TMP_DIR/sums" "$MIRROR/$VERSION_PATH/sha256sum-$ARCH.txt" || fatal "hash download failed"
  info "downloading binary $MIRROR/$VERSION_PATH/k3s$SUFFIX"
  curl -fsSL -o "$TMP_DIR/k3s" "$MIRROR/$VERSION_PATH/k3s$SUFFIX" || fatal "binary download failed"
  expected=$(grep " k3s$SUFFIX\\$" "$TMP_DIR/sums" | awk '{print $1}')
  actual=$(sha256sum "$TMP_DIR/k3s" | awk '{print $1}')
  [ "$expected" = "$actual" ] || fatal "download sha256 does not match $expected, got $actual"
  mkdir -p "$BIN_DIR"
  install -m 0755 "$TMP_DIR/k3s" "$BIN_DIR/k3s"
fi

mkdir -p "$SYSTEMD_DIR"
FILE_ENV="$SYSTEMD_DIR/$SYSTEM_NAME.service.env"
umask 077
: > "$FILE_ENV"
env | grep -E '^(K3S|CONTAINERD)_' | grep -v -E '^K3S_(NODE_NAME|CONFIG_FILE)_PLACEHOLDER' >> "$FILE_ENV" || true
chmod 0600 "$FILE_ENV"
umask 022

cat > "$SYSTEMD_DIR/$SYSTEM_NAME.service" <<UNIT
# SIMULATION: airstrap lab's stand-in for the k3s unit; runs airstrap's simulated k3s.
[Unit]
Description=Lightweight Kubernetes (SIMULATED by airstrap lab)
Documentation=https://k3s.io
Wants=network-online.target
After=network-online.target

[Install]
WantedBy=multi-user.target

[Service]
Type=notify
NotifyAccess=all
EnvironmentFile=-/etc/default/%N
EnvironmentFile=-/etc/sysconfig/%N
EnvironmentFile=-$FILE_ENV
KillMode=process
TimeoutStartSec=0
Restart=always
RestartSec=5s
ExecStart=$BIN_DIR/k3s $CMD_K3S $EXEC_ARGS
UNIT

cat > "$BIN_DIR/k3s-killall.sh" <<'KILLALL'
#!/bin/sh
# SIMULATION: stops the simulated k3s.
systemctl stop k3s.service k3s-agent.service 2>/dev/null || true
KILLALL
chmod 0755 "$BIN_DIR/k3s-killall.sh"
cat > "$BIN_DIR/$SYSTEM_NAME-uninstall.sh" <<UNINSTALL
#!/bin/sh
# SIMULATION: removes the simulated k3s.
systemctl disable --now $SYSTEM_NAME.service 2>/dev/null || true
rm -f "$SYSTEMD_DIR/$SYSTEM_NAME.service" "$FILE_ENV" "$BIN_DIR/k3s" "$BIN_DIR/k3s-killall.sh" "$BIN_DIR/$SYSTEM_NAME-uninstall.sh"
rm -rf /etc/rancher/k3s /var/lib/rancher/k3s
systemctl daemon-reload 2>/dev/null || true
UNINSTALL
chmod 0755 "$BIN_DIR/$SYSTEM_NAME-uninstall.sh"

systemctl daemon-reload
if [ "$INSTALL_K3S_SKIP_ENABLE" != true ]; then
  info "enabling $SYSTEM_NAME unit"
  systemctl enable "$SYSTEM_NAME" >/dev/null 2>&1
  if [ "$INSTALL_K3S_SKIP_START" != true ]; then
    info "starting $SYSTEM_NAME (SIMULATION)"
    systemctl restart "$SYSTEM_NAME"
  fi
fi
`;
}
