import { shellQuote as q } from "../hosts/shell.js";
import type { DistroName } from "../manifest/defaults.js";
import { DISTRO_PATHS } from "../plan/distro-paths.js";
import type { Plan, Role } from "../plan/types.js";
import { ARTIFACT_DIR } from "./context.js";
import { distroService } from "./facts.js";

/**
 * The documented air-gap install of each distro, from files already in ARTIFACT_DIR:
 * - RKE2 (tarball method): INSTALL_RKE2_ARTIFACT_PATH makes install.sh verify the tarball and the
 *   images against sha256sum-<arch>.txt and copy the images into the agent images dir.
 * - K3s: the binary to /usr/local/bin/k3s and the images tarball to the agent images dir by hand,
 *   then install.sh with INSTALL_K3S_SKIP_DOWNLOAD=true (which skips K3s' own hash checks:
 *   airstrap verified every file against the release sums when it arrived).
 * Both leave the service enabled but not started (INSTALL_*_SKIP_START / rke2 default), so the
 * caller starts it after the config is in place.
 */
export function installCommand(distro: DistroName, role: Role, arch: string): string {
  if (distro === "rke2") {
    return `INSTALL_RKE2_ARTIFACT_PATH=${q(ARTIFACT_DIR)} INSTALL_RKE2_TYPE=${role} sh ${q(`${ARTIFACT_DIR}/install.sh`)}`;
  }
  const binary = arch === "arm64" ? "k3s-arm64" : "k3s";
  const images = DISTRO_PATHS.k3s.imagesDir;
  return [
    `install -m 0755 ${q(`${ARTIFACT_DIR}/${binary}`)} /usr/local/bin/k3s`,
    `mkdir -p ${q(images)}`,
    `cp ${q(`${ARTIFACT_DIR}/k3s-airgap-images-${arch}.tar.zst`)} ${q(images)}/`,
    `INSTALL_K3S_SKIP_DOWNLOAD=true INSTALL_K3S_SKIP_START=true INSTALL_K3S_EXEC=${role} sh ${q(`${ARTIFACT_DIR}/install.sh`)}`,
  ].join(" && ");
}

export function startCommand(distro: DistroName, role: Role): string {
  return `systemctl enable ${distroService(distro, role)} && systemctl start --no-block ${distroService(distro, role)}`;
}

/**
 * How long one readiness check may run. It starts the airstrap executable (its probe), which takes
 * well under a second on a real machine but up to a minute on an emulated one (qemu TCG, as the
 * lab's PXE machines are) under load: a shorter bound would call a ready node not ready forever.
 * The wait as a whole is bounded by the ready timeout.
 */
export const READY_CHECK_TIMEOUT_MS = 90_000;

/**
 * Ready, as far as the node itself can tell: the service is active and, on servers, the node
 * token exists (written once the supervisor has bootstrapped) and the supervisor answers /ping;
 * on agents, the server CA the agent fetches from the supervisor when it joins exists. An active
 * agent service alone proves nothing: an agent that cannot reach any server keeps retrying.
 */
export function readyCheckCommand(distro: DistroName, role: Role, joinBackendPort: number): string {
  const service = distroService(distro, role);
  const active = `systemctl is-active --quiet ${service}`;
  if (role === "agent") return `${active} && test -s ${q(agentServerCaPath(distro))}`;
  return `${active} && test -s ${q(DISTRO_PATHS[distro].nodeToken)} && /usr/local/bin/airstrap probe https://127.0.0.1:${joinBackendPort}/ping --insecure --expect 200`;
}

/** readyCheckCommand for a host of this plan (the supervisor port is the LB's join backend port). */
export function nodeReadyCheck(plan: Plan, role: Role): string {
  const joinBackendPort = plan.loadBalancer.listeners.find((l) => l.name === "join")?.backendPort ?? 9345;
  return readyCheckCommand(plan.distro.name, role, joinBackendPort);
}

/** Where an agent keeps the server CA it received on joining (k3s/rke2 `<data-dir>/agent/server-ca.crt`). */
export function agentServerCaPath(distro: DistroName): string {
  return `/var/lib/rancher/${distro}/agent/server-ca.crt`;
}
