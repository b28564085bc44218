import type { InstallContext } from "./context.js";
import type { Phase } from "./phase.js";
import { configureDistro } from "./phases/configure-distro.js";
import { connect } from "./phases/connect.js";
import { deployInCluster } from "./phases/deploy-in-cluster.js";
import { distributeArtifacts } from "./phases/distribute-artifacts.js";
import { fetchKubeconfig } from "./phases/fetch-kubeconfig.js";
import { gatherFacts } from "./phases/gather-facts.js";
import { nodeServices } from "./phases/node-services.js";
import { preloadImage } from "./phases/preload-image.js";
import { registryReplicas } from "./phases/registry-replicas.js";
import { installDistro, joinAgents, joinServers, startPrimary } from "./phases/start-distro.js";
import { validateHosts } from "./phases/validate-hosts.js";
import type { Step } from "./runner.js";

/** What every host needs before its distro may start; none of it waits for another node, so each host goes at its own pace. */
const PREPARE: Array<Phase<InstallContext>> = [
  // The executable comes first: the relay that passes the release files on runs from it.
  nodeServices,
  distributeArtifacts,
  preloadImage,
  deployInCluster,
  registryReplicas,
  configureDistro,
  installDistro,
];

/**
 * The install (seed 001): connect, read and check every host; then two lanes side by side — the
 * servers prepare, the primary starts and the other servers join one at a time (etcd admits one
 * learner at a time), while the agents prepare, each host at its own pace; then the agents join,
 * all at once.
 */
export const INSTALL_STEPS: Array<Step<InstallContext>> = [
  connect,
  gatherFacts,
  validateHosts,
  {
    lanes: [
      { hosts: (h) => h.role === "server", phases: [{ perHost: PREPARE }, startPrimary, joinServers] },
      { hosts: (h) => h.role !== "server", phases: [{ perHost: PREPARE }] },
    ],
  },
  joinAgents,
  fetchKubeconfig,
];
