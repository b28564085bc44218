import { createHash } from "node:crypto";

/**
 * Everything that decides the contents of the lab's shared root filesystem. Its hash names the
 * cache folder, so changing any of it builds a fresh rootfs and leaves the old one untouched.
 */
export interface RootfsRecipe {
  suite: string;
  variant: string;
  packages: string[];
  /**
   * Installed with apt-get inside the root after debootstrap: packages whose dependencies have
   * alternatives debootstrap's resolver cannot choose between (a kernel with dracut instead of initramfs-tools).
   */
  install?: string[];
  files: Record<string, { mode: number; content: string }>;
  enable: string[];
  mask: string[];
}

const SETUP_SCRIPT = `#!/bin/sh
# airstrap lab (a simulated site): applies this host's own files, bind-mounted read-only at
# /etc/airstrap-lab, on every boot. Every host shares one root filesystem; what makes it itself
# (address, SSH host key, authorised key, resolver) comes from here.
set -eu
src=/etc/airstrap-lab
install -d -m 0755 /etc/systemd/network
install -m 0644 "$src/host0.network" /etc/systemd/network/05-airstrap-lab.network
install -m 0600 "$src/ssh_host_ed25519_key" /etc/ssh/ssh_host_ed25519_key
install -m 0644 "$src/ssh_host_ed25519_key.pub" /etc/ssh/ssh_host_ed25519_key.pub
install -d -m 0700 /root/.ssh
install -m 0600 "$src/authorized_keys" /root/.ssh/authorized_keys
rm -f /etc/resolv.conf
install -m 0644 "$src/resolv.conf" /etc/resolv.conf
install -m 0644 "$src/hosts" /etc/hosts
printf 'Port %s\n' "$(cat "$src/ssh-port")" > /etc/ssh/sshd_config.d/airstrap-lab-port.conf
user=$(cat "$src/ssh-user")
if [ "$user" != root ]; then
  id -u "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$user"
  home=$(getent passwd "$user" | cut -d: -f6)
  install -d -m 0700 -o "$user" -g "$user" "$home/.ssh"
  install -m 0600 -o "$user" -g "$user" "$src/authorized_keys" "$home/.ssh/authorized_keys"
  printf '%s ALL=(ALL) NOPASSWD:ALL\n' "$user" > /etc/sudoers.d/airstrap-lab
  chmod 0440 /etc/sudoers.d/airstrap-lab
fi
`;

const SETUP_UNIT = `[Unit]
Description=airstrap lab: apply this host's address, SSH host key and authorised key
DefaultDependencies=no
After=local-fs.target
Before=systemd-networkd.service ssh.service network-pre.target
Wants=network-pre.target
ConditionPathExists=/etc/airstrap-lab/host0.network

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/airstrap-lab-setup

[Install]
WantedBy=sysinit.target
`;

const SSHD_CONFIG = `# airstrap lab: one host key per host (written at boot), keys only.
HostKey /etc/ssh/ssh_host_ed25519_key
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UseDNS no
`;

export const defaultRecipe: RootfsRecipe = {
  suite: "bookworm",
  variant: "minbase",
  packages: [
    "systemd-sysv",
    "udev",
    "dbus",
    "kmod",
    "openssh-server",
    "iproute2",
    "iputils-ping",
    "procps",
    "netbase",
    "curl",
    "ca-certificates",
    "sudo",
    "less",
    "openssl",
  ],
  files: {
    "usr/local/sbin/airstrap-lab-setup": { mode: 0o755, content: SETUP_SCRIPT },
    "etc/systemd/system/airstrap-lab-setup.service": { mode: 0o644, content: SETUP_UNIT },
    "etc/ssh/sshd_config.d/airstrap-lab.conf": { mode: 0o644, content: SSHD_CONFIG },
  },
  enable: ["airstrap-lab-setup.service", "systemd-networkd.service", "ssh.service"],
  // A console getty has no terminal under --console=pipe and would restart forever.
  mask: [
    "console-getty.service",
    "getty@tty1.service",
    "systemd-networkd-wait-online.service",
    // Generates network units from the kernel command line: nothing to do in a container, and seen failing there.
    "systemd-network-generator.service",
  ],
};

/** Stable across key order; a short prefix of sha256 is plenty to tell recipes apart. */
export function recipeHash(recipe: RootfsRecipe): string {
  return createHash("sha256").update(canonicalJson(recipe)).digest("hex").slice(0, 16);
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}
