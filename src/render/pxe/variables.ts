import { AIRSTRAP_PATHS, DISTRO_PATHS } from "../../plan/distro-paths.js";
import type { Plan, PlannedPxe, PlannedPxeHost } from "../../plan/types.js";
import { renderDistroConfig } from "../distro-config.js";
import { renderRegistries } from "../registries.js";
import {
  DATA_DISK_LABEL,
  DATA_DISK_MOUNT_POINT,
  DATA_DISK_MOUNT_UNIT_NAME,
  REPORT_SCRIPT_PATH,
  renderDataDiskMountUnit,
  renderFetchUnit,
  renderNodeUnit,
  renderReportScript,
  renderReportUnit,
} from "../units.js";
import { renderNetworkConfig } from "./network.js";

/** What the templates need that is not in the plan: secrets and files from the operator's machine. */
export interface PxeInputs {
  token: string;
  /** One OpenSSH public key line (the manifest's identity file's .pub). */
  sshPublicKey: string;
  /** PEM of the site CA from the state dir. */
  siteCa: string;
  /** SHA-256 of the plan as written to assets/airstrap/plan.json. */
  planSha256: string;
  /** SHA-256 of the airstrap executable served to the hosts, when generate found one. */
  executableSha256?: string;
  /** Per PXE host: its SSH host key (pinned in the state dir's known_hosts before it boots). */
  hostKeys: Readonly<Record<string, { private: string; public: string }>>;
}

/**
 * Every variable a template may use, all strings. Seed 003's table (BOOTSTRAP_IP, CLUSTER_NAME,
 * CONTROL_PLANE_VIP — here the cluster FQDN, which every node resolves to itself —, K8S_VERSION,
 * FLATCAR_VERSION, POD_SUBNET, SERVICE_SUBNET, SSH_KEY, JOIN_TOKEN for KUBEADM_TOKEN, NODE_*),
 * plus the files airstrap itself puts on a node.
 */
export function templateVariables(
  plan: Plan,
  pxe: PlannedPxe,
  pxeHost: PlannedPxeHost,
  inputs: PxeInputs,
): Record<string, string> {
  const host = plan.hosts.find((h) => h.name === pxeHost.name);
  if (!host) throw new Error(`templateVariables: ${pxeHost.name} is not in the plan`);
  const distro = DISTRO_PATHS[plan.distro.name];
  const hostKey = inputs.hostKeys[host.name];
  if (!hostKey) throw new Error(`templateVariables: no host key for ${host.name}`);
  return {
    BOOTSTRAP_IP: plan.bootstrapAddress ?? pxe.address,
    BOOT_URL: pxe.bootUrl,
    CLUSTER_NAME: plan.name,
    DOMAIN: plan.domain,
    CLUSTER_FQDN: plan.clusterFqdn,
    CONTROL_PLANE_VIP: plan.clusterFqdn,
    DISTRO: plan.distro.name,
    K8S_VERSION: plan.distro.version,
    FLATCAR_VERSION: pxe.os.kind === "flatcar" ? pxe.os.version : "",
    IGNITION_VERSION: pxe.ignitionVersion,
    POD_SUBNET: plan.network.podCIDR,
    SERVICE_SUBNET: plan.network.serviceCIDR,
    SSH_USER: host.ssh.user,
    SSH_KEY: inputs.sshPublicKey,
    SSH_HOST_KEY: hostKey.private,
    SSH_HOST_KEY_PUB: `${hostKey.public} ${host.name}\n`,
    JOIN_TOKEN: inputs.token,
    NODE_NAME: host.name,
    NODE_FQDN: host.fqdn,
    NODE_IP: host.address,
    NODE_MAC: pxeHost.mac,
    NODE_ROLE: pxeHost.role,
    NETWORK_CONFIG: renderNetworkConfig(pxe, pxeHost, plan.domain),
    SITE_CA: inputs.siteCa,
    SITE_CA_PATH: AIRSTRAP_PATHS.siteCa,
    DISTRO_CONFIG: renderDistroConfig(plan, host, { token: inputs.token }),
    DISTRO_CONFIG_PATH: distro.config,
    REGISTRIES_YAML: renderRegistries(plan),
    REGISTRIES_PATH: distro.registries,
    NODE_UNIT: renderNodeUnit(plan, host),
    // Empty for a host without a data disk (the built-in templates then leave the section out).
    DATA_DISK: pxeHost.dataDisk ?? "",
    DATA_DISK_LABEL,
    DATA_DISK_MOUNT_POINT,
    DATA_DISK_MOUNT_UNIT_NAME,
    DATA_DISK_MOUNT_UNIT: pxeHost.dataDisk === undefined ? "" : renderDataDiskMountUnit(plan, host, pxeHost.dataDisk),
    REPORT_URL: pxeHost.urls.report,
    REPORT_SCRIPT: renderReportScript(pxeHost.urls.report),
    REPORT_SCRIPT_PATH,
    REPORT_UNIT: renderReportUnit(plan, host),
    FETCH_UNIT: renderFetchUnit(plan, host, {
      planUrl: pxeHost.urls.plan,
      planSha256: inputs.planSha256,
      executableUrl: pxeHost.urls.executable,
      ...(inputs.executableSha256 === undefined ? {} : { executableSha256: inputs.executableSha256 }),
    }),
  };
}
