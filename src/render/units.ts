import { AIRSTRAP_PATHS } from "../plan/distro-paths.js";
import type { Plan, PlannedHost } from "../plan/types.js";

const DISTRO_UNITS = {
  rke2: ["rke2-server.service", "rke2-agent.service"],
  k3s: ["k3s.service", "k3s-agent.service"],
} as const;

/**
 * The per-node DNS server and load balancer. It must be up before the distro starts, because the
 * distro's `server:` URL names the cluster FQDN, which only this service resolves.
 */
export function renderNodeUnit(plan: Plan, host: PlannedHost): string {
  return unit({
    description: `airstrap node-local DNS and load balancer (${host.name}, cluster ${plan.name})`,
    before: [...DISTRO_UNITS[plan.distro.name]],
    exec: `${AIRSTRAP_PATHS.binary} node --plan ${AIRSTRAP_PATHS.plan} --node ${host.name}`,
    // Ready when it serves; and when a newer executable takes over its sockets (see
    // services/executable-handover.ts), the new process names itself the main one from the same cgroup.
    notify: true,
    extra: [
      // Ready within a second on a real machine; an emulated one (qemu TCG, the lab's PXE machines)
      // under load takes more than systemd's default 90 s to start the executable.
      "TimeoutStartSec=300",
      "AmbientCapabilities=CAP_NET_BIND_SERVICE",
      "CapabilityBoundingSet=CAP_NET_BIND_SERVICE",
      "ProtectSystem=strict",
      "ProtectHome=yes",
      "PrivateTmp=yes",
    ],
  });
}

/** The registry replica: a host process, so it never needs an image to start (seed 002). */
export function renderRegistryUnit(plan: Plan, host: PlannedHost): string {
  return unit({
    description: `airstrap image registry replica (${host.name}, cluster ${plan.name})`,
    before: [...DISTRO_UNITS[plan.distro.name]],
    exec: registryCommand(plan, host),
    extra: [
      "StateDirectory=airstrap/registry",
      `ReadWritePaths=${AIRSTRAP_PATHS.registryRoot}`,
      "ProtectSystem=strict",
      "ProtectHome=yes",
      "PrivateTmp=yes",
    ],
  });
}

/**
 * HTTPS on every address of the node with the certificate the site CA signed for this host (what registries.yaml trusts), pushes
 * only with the push token, anonymous pulls from the site's networks, and every other replica as
 * a peer to copy from, so losing one server loses no image.
 */
function registryCommand(plan: Plan, host: PlannedHost): string {
  const peers = plan.hosts
    .filter((h) => h.runsRegistry && h.name !== host.name)
    .map((h) => `--peer https://${h.fqdn}:${plan.registry.port}`);
  return [
    `${AIRSTRAP_PATHS.binary} registry serve`,
    `--root ${AIRSTRAP_PATHS.registryRoot}`,
    // Every address, not only the site one: on Debian and Ubuntu a host's own FQDN resolves to
    // 127.0.1.1 through /etc/hosts, and containerd on that host asks its own replica first.
    `--listen ${host.address.includes(":") ? "[::]" : "0.0.0.0"}:${plan.registry.port}`,
    `--tls-cert ${AIRSTRAP_PATHS.registryCert} --tls-key ${AIRSTRAP_PATHS.registryKey}`,
    `--token-file ${AIRSTRAP_PATHS.registryPushToken}`,
    ...plan.dns.allowedNetworks.map((network) => `--allow-pull-from ${network}`),
    ...(peers.length > 0 ? [...peers, `--trust-ca ${AIRSTRAP_PATHS.siteCa}`] : []),
  ].join(" ");
}

/** The unit that runs first on a host booted over PXE: the airstrap executable and the plan, fetched from the boot server. */
export const FETCH_UNIT_NAME = "airstrap-fetch.service";

/**
 * Fetches the plan (its SHA-256 checked) and the executable (checked when its SHA-256 is known),
 * each into a part file renamed into place, so the node unit after it finds both or neither.
 * Skipped once the executable is there: from then on install keeps both up to date.
 */
export function renderFetchUnit(
  plan: Plan,
  host: { name: string },
  sources: { planUrl: string; planSha256: string; executableUrl: string; executableSha256?: string },
): string {
  // /usr/bin on Flatcar and on merged-/usr Debian alike.
  const curl = "/usr/bin/curl -fsS --connect-timeout 10 --retry 30 --retry-delay 2 --retry-connrefused";
  const fetch = (url: string, path: string, sha256: string | undefined, mode: string) => [
    `ExecStart=${curl} -o ${path}.part ${url}`,
    ...(sha256 === undefined
      ? []
      : [`ExecStart=/usr/bin/sh -c 'echo "${sha256}  ${path}.part" | /usr/bin/sha256sum -c --status'`]),
    `ExecStart=/usr/bin/chmod ${mode} ${path}.part`,
    `ExecStart=/usr/bin/mv -f ${path}.part ${path}`,
  ];
  return unit({
    description: `airstrap: fetch the executable and the plan from the boot server (${host.name}, cluster ${plan.name})`,
    before: ["airstrap-node.service"],
    condition: `ConditionFileIsExecutable=!${AIRSTRAP_PATHS.binary}`,
    service: [
      "Type=oneshot",
      "RemainAfterExit=yes",
      // The boot server may come up after the host: try again rather than leave the node without services.
      "Restart=on-failure",
      "RestartSec=5",
      `ExecStart=/usr/bin/mkdir -p ${AIRSTRAP_PATHS.configDir} ${AIRSTRAP_PATHS.binary.slice(0, AIRSTRAP_PATHS.binary.lastIndexOf("/"))}`,
      ...fetch(sources.planUrl, AIRSTRAP_PATHS.plan, sources.planSha256, "0644"),
      ...fetch(sources.executableUrl, AIRSTRAP_PATHS.binary, sources.executableSha256, "0755"),
    ],
  });
}

/** Where a PXE host's data disk is mounted: the distro's images and airstrap's state live under it. */
export const DATA_DISK_MOUNT_POINT = "/var/lib";
/** The ext4 label Ignition gives the data disk (at most 16 bytes). */
export const DATA_DISK_LABEL = "airstrap-data";
/** systemd's name for a mount unit at DATA_DISK_MOUNT_POINT (systemd-escape --path). */
export const DATA_DISK_MOUNT_UNIT_NAME = "var-lib.mount";

/**
 * Mounts the data disk Ignition formatted at /var/lib, with the local file systems, so every
 * service (airstrap's node units, the distro) starts on it. Wanted, not required: a missing disk
 * leaves the machine reachable, and install's host check then names the little room under /var/lib.
 */
export function renderDataDiskMountUnit(plan: Plan, host: { name: string }, device: string): string {
  return [
    "[Unit]",
    `Description=airstrap: data disk ${device} at ${DATA_DISK_MOUNT_POINT} (${host.name}, cluster ${plan.name})`,
    "Before=local-fs.target",
    "",
    "[Mount]",
    `What=${device}`,
    `Where=${DATA_DISK_MOUNT_POINT}`,
    "Type=ext4",
    "",
    "[Install]",
    "WantedBy=local-fs.target",
    "",
  ].join("\n");
}

/** The unit that tells the boot server a PXE host finished its first boot (see services/boot-http/report.ts). */
export const REPORT_UNIT_NAME = "airstrap-report.service";
export const REPORT_SCRIPT_PATH = "/etc/airstrap/first-boot-report";
const REPORTED_MARK = "/var/lib/airstrap/first-boot-reported";

/**
 * POSTs the first-boot report once, after sshd has started: Ignition's result (it writes
 * /etc/.ignition-result.json when its files stage completed; the root is only reached when every
 * stage did), the fingerprints of the host keys sshd serves (which `airstrap init` compares with
 * the keys it generated: another key means the machine booted another config), the kernel and the
 * units that failed. A mark file keeps it from reporting again on a later boot of a disk install.
 */
export function renderReportScript(reportUrl: string): string {
  return `#!/bin/sh
# airstrap: report this node's first boot to the boot server (once).
ignition=unknown
[ -f /etc/.ignition-result.json ] && ignition=success
fingerprints=$(for key in /etc/ssh/ssh_host_*_key.pub; do ssh-keygen -lf "$key" | cut -d" " -f2; done | sed 's/.*/"&"/' | paste -sd, -)
failed=$(systemctl --failed --plain --no-legend 2>/dev/null | cut -d" " -f1 | grep -v '^${REPORT_UNIT_NAME}$' | paste -sd" " -)
message="kernel $(uname -r)\${failed:+; failed units: $failed}"
body=$(printf '{"status":"first-boot-done","ignition":"%s","sshHostKeyFingerprints":[%s],"message":"%s"}' "$ignition" "$fingerprints" "$(printf %s "$message" | tr -d '"\\\\' | cut -c1-400)")
/usr/bin/curl -fsS --connect-timeout 10 --retry 30 --retry-delay 2 --retry-connrefused -X POST -H "content-type: application/json" --data "$body" "${reportUrl}" || exit 1
mkdir -p ${REPORTED_MARK.slice(0, REPORTED_MARK.lastIndexOf("/"))} && touch ${REPORTED_MARK}
`;
}

export function renderReportUnit(plan: Plan, host: { name: string }): string {
  return [
    "[Unit]",
    `Description=airstrap: report the first boot to the boot server (${host.name}, cluster ${plan.name})`,
    "Wants=network-online.target",
    // sshd first: a report says the machine is ready to be reached (Debian's ssh, Flatcar's sshd socket).
    "After=network-online.target ssh.service sshd.service sshd.socket airstrap-node.service",
    `ConditionPathExists=!${REPORTED_MARK}`,
    "",
    "[Service]",
    "Type=oneshot",
    "RemainAfterExit=yes",
    `ExecStart=/usr/bin/sh ${REPORT_SCRIPT_PATH}`,
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}

function unit(options: {
  description: string;
  before: string[];
  exec?: string;
  extra?: string[];
  condition?: string;
  service?: string[];
  notify?: boolean;
}): string {
  return [
    "[Unit]",
    `Description=${options.description}`,
    "Wants=network-online.target",
    "After=network-online.target",
    `Before=${options.before.join(" ")}`,
    // The binary is copied by airstrap install; until then the unit must not try to start.
    options.condition ?? `ConditionFileIsExecutable=${AIRSTRAP_PATHS.binary}`,
    "",
    "[Service]",
    ...(options.service ?? [
      ...(options.notify ? ["Type=notify", "NotifyAccess=all"] : ["Type=simple"]),
      `ExecStart=${options.exec}`,
      "Restart=always",
      "RestartSec=1",
      "NoNewPrivileges=yes",
      ...(options.extra ?? []),
    ]),
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}
