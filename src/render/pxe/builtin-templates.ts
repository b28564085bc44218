import type { PxeRole } from "../../plan/types.js";

export const TEMPLATE_SUFFIX = ".ign.yaml";
export const PXE_ROLES: readonly PxeRole[] = ["primary-server", "server", "agent"];

export const ROLE_LABELS: Record<PxeRole, string> = {
  "primary-server": "primary server",
  server: "server",
  agent: "agent",
};

/** The file name a template has, built in or in a templates folder: `<role>.ign.yaml`. */
export const templateName = (role: PxeRole) => `${role}${TEMPLATE_SUFFIX}`;

/**
 * The built-in Ignition template of a role. The roles differ in what their variables hold (the
 * distro config of a primary server initialises the cluster, a server's joins it, an agent's joins
 * as a worker); the files are the same, so that a site overriding one role's template (say, GPU
 * drivers on agents) starts from the same page. `airstrap generate --export-templates DIR`
 * writes these out.
 */
export function builtInTemplate(role: PxeRole, options: { dataDisk?: boolean } = {}): string {
  const dataDisk = options.dataDisk === true;
  return `# Ignition config of a ${ROLE_LABELS[role]} ({{ NODE_NAME }}, cluster {{ CLUSTER_NAME }}).
# Built into airstrap; a file named ${templateName(role)} in the templates folder replaces it.
# {{ NAME }} is replaced by the variable's value inside the string it stands in; file modes are
# written 0o644 (YAML 1.2 reads 0644 as decimal); contents.inline becomes a data: URL.
ignition:
  version: "{{ IGNITION_VERSION }}"
passwd:
  users:
    - name: "{{ SSH_USER }}"
      sshAuthorizedKeys: ["{{ SSH_KEY }}"]
storage:
${dataDisk ? DATA_DISK_FILESYSTEM : ""}  files:
    - path: /etc/hostname
      mode: 0o644
      overwrite: true
      contents: { inline: "{{ NODE_NAME }}\\n" }
    - path: /etc/systemd/network/00-airstrap.network
      mode: 0o644
      overwrite: true
      contents: { inline: "{{ NETWORK_CONFIG }}" }
    # The host's SSH key, made by airstrap and pinned before the first connection.
    - path: /etc/ssh/ssh_host_ed25519_key
      mode: 0o600
      overwrite: true
      contents: { inline: "{{ SSH_HOST_KEY }}" }
    - path: /etc/ssh/ssh_host_ed25519_key.pub
      mode: 0o644
      overwrite: true
      contents: { inline: "{{ SSH_HOST_KEY_PUB }}" }
    # Ignition puts the key in ~/.ssh/authorized_keys.d/ignition; Flatcar merges that folder, Debian's sshd reads only authorized_keys.
    - path: /etc/ssh/sshd_config.d/airstrap.conf
      mode: 0o644
      overwrite: true
      contents: { inline: "AuthorizedKeysFile .ssh/authorized_keys .ssh/authorized_keys.d/ignition\\n" }
    - path: /etc/sudoers.d/airstrap
      mode: 0o440
      overwrite: true
      contents: { inline: "{{ SSH_USER }} ALL=(ALL) NOPASSWD: ALL\\n" }
    - path: "{{ SITE_CA_PATH }}"
      mode: 0o644
      overwrite: true
      contents: { inline: "{{ SITE_CA }}" }
    - path: "{{ DISTRO_CONFIG_PATH }}"
      mode: 0o600
      overwrite: true
      contents: { inline: "{{ DISTRO_CONFIG }}" }
    - path: "{{ REGISTRIES_PATH }}"
      mode: 0o600
      overwrite: true
      contents: { inline: "{{ REGISTRIES_YAML }}" }
    - path: "{{ REPORT_SCRIPT_PATH }}"
      mode: 0o755
      overwrite: true
      contents: { inline: "{{ REPORT_SCRIPT }}" }
systemd:
  units:
    - name: systemd-networkd.service
      enabled: true
    # Fetches the airstrap executable and the plan from the boot server, before the node services.
    - name: airstrap-fetch.service
      enabled: true
      contents: "{{ FETCH_UNIT }}"
    # The node-local DNS server and load balancer, up before the distro starts.
    - name: airstrap-node.service
      enabled: true
      contents: "{{ NODE_UNIT }}"
    # Tells the boot server this machine finished its first boot (what airstrap init shows and waits for).
    - name: airstrap-report.service
      enabled: true
      contents: "{{ REPORT_UNIT }}"
${dataDisk ? DATA_DISK_UNIT : ""}`;
}

/**
 * A host with a data disk (dataDisk in the manifest): Ignition makes ext4 on it unless it carries
 * that filesystem already (a machine booted again keeps what is installed), and the mount unit
 * puts it at /var/lib on every boot.
 */
const DATA_DISK_FILESYSTEM = `  # The data disk: formatted once, kept on later boots (wipeFilesystem false), mounted at /var/lib.
  filesystems:
    - device: "{{ DATA_DISK }}"
      format: ext4
      label: "{{ DATA_DISK_LABEL }}"
      path: "{{ DATA_DISK_MOUNT_POINT }}"
      wipeFilesystem: false
`;

const DATA_DISK_UNIT = `    # Mounts the data disk at /var/lib before the node services and the distro start.
    - name: "{{ DATA_DISK_MOUNT_UNIT_NAME }}"
      enabled: true
      contents: "{{ DATA_DISK_MOUNT_UNIT }}"
`;
