import { createHash } from "node:crypto";
import { defaultRecipe, type RootfsRecipe, recipeHash } from "../rootfs/recipe.js";

/**
 * The OS the lab's PXE machines boot, in the shape of a Flatcar PXE boot: a kernel, a dracut
 * initramfs that fetches the root image over HTTP (dmsquash-live/livenet) and runs Debian's real
 * Ignition against ignition.config.url, and that root image. Its root has what the nspawn hosts'
 * root has (sshd, sudo, curl …, see ../rootfs/recipe.ts) plus the kernel and the boot tooling.
 */
export interface NetbootRecipe {
  root: RootfsRecipe;
  /** dracut modules added to a generic (--no-hostonly) initramfs. */
  dracutModules: string[];
  dracutOmit: string[];
  /** Files put into the initramfs (source inside the root → path in the initramfs). */
  dracutInclude: Record<string, string>;
}

const NETWORK = `# airstrap lab netboot: every wired link asks DHCP (the boot server reserves an address per MAC).
[Match]
Name=en* eth*

[Network]
DHCP=ipv4

[DHCPv4]
ClientIdentifier=mac
`;

const SSHD_CONFIG = `# airstrap lab netboot: keys only; Ignition writes users' keys to authorized_keys.d/ignition (as on Flatcar).
HostKey /etc/ssh/ssh_host_ed25519_key
AuthorizedKeysFile .ssh/authorized_keys .ssh/authorized_keys.d/ignition
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UseDNS no
`;

// A host key from Ignition (what airstrap generate delivers, pinned) is kept; without one the host makes its own.
const HOST_KEY_UNIT = `[Unit]
Description=airstrap lab netboot: an SSH host key when Ignition gave none
Before=ssh.service
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -q -t ed25519 -N "" -f /etc/ssh/ssh_host_ed25519_key

[Install]
WantedBy=multi-user.target
`;

// Every PXE boot is a first boot, as on Flatcar: systemd then applies the presets, which is how
// Ignition enables units ("enabled: true" writes /etc/systemd/system-preset/20-ignition.preset).
// With an empty machine-id (the containers' root) systemd makes one but applies no preset, and
// Ignition's units stay disabled.
const FIRST_BOOT_MACHINE_ID = "uninitialized\n";

// Debian's Ignition relabels SELinux contexts after its files stage and fails when it finds no
// policy config and no setfiles. This root has no SELinux: it says so, and setfiles does nothing.
const SELINUX_CONFIG = "SELINUX=disabled\nSELINUXTYPE=default\n";
const NO_SETFILES =
  "#!/bin/sh\n# airstrap lab netboot: no SELinux in this root, nothing to relabel (see docs/lab.md).\nexit 0\n";
const SETFILES_SOURCE = "usr/local/lib/airstrap-netboot/setfiles";

export const netbootRecipe: NetbootRecipe = {
  root: {
    suite: defaultRecipe.suite,
    variant: defaultRecipe.variant,
    packages: [...defaultRecipe.packages, "isc-dhcp-client"],
    install: ["linux-image-amd64", "dracut", "dracut-network", "dracut-live", "ignition"],
    files: {
      "etc/systemd/network/05-airstrap-netboot.network": { mode: 0o644, content: NETWORK },
      "etc/ssh/sshd_config.d/airstrap-lab.conf": { mode: 0o644, content: SSHD_CONFIG },
      "etc/systemd/system/airstrap-netboot-hostkey.service": { mode: 0o644, content: HOST_KEY_UNIT },
      "etc/selinux/config": { mode: 0o644, content: SELINUX_CONFIG },
      [SETFILES_SOURCE]: { mode: 0o755, content: NO_SETFILES },
      "etc/machine-id": { mode: 0o444, content: FIRST_BOOT_MACHINE_ID },
    },
    enable: ["systemd-networkd.service", "ssh.service", "airstrap-netboot-hostkey.service"],
    // systemd-firstboot would ask for a locale and a time zone on the console at every first boot.
    mask: ["systemd-networkd-wait-online.service", "systemd-firstboot.service"],
  },
  // network-legacy: with only systemd-networkd, dracut's online hook never runs and livenet never fetches the root.
  dracutModules: ["ignition", "livenet", "dmsquash-live", "network-legacy"],
  dracutOmit: ["plymouth"],
  dracutInclude: { [`/${SETFILES_SOURCE}`]: "/usr/sbin/setfiles" },
};

/** Names the cached netboot image: its root's recipe and how the initramfs and root image are made. */
export function netbootHash(recipe: NetbootRecipe): string {
  const { root, ...rest } = recipe;
  return createHash("sha256")
    .update(`${recipeHash(root)}\n${JSON.stringify(rest)}\nlayout=LiveOS/rootfs.img ext4 in squashfs zstd`)
    .digest("hex")
    .slice(0, 16);
}
