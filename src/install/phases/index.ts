import type { InstallContext } from "../context.js";
import type { Phase } from "../phase.js";
import { configureDistro } from "./configure-distro.js";
import { connect } from "./connect.js";
import { distributeArtifacts } from "./distribute-artifacts.js";
import { fetchKubeconfig } from "./fetch-kubeconfig.js";
import { gatherFacts } from "./gather-facts.js";
import { nodeServices } from "./node-services.js";
import { registryReplicas } from "./registry-replicas.js";
import { joinAgents, joinServers, startPrimary } from "./start-distro.js";
import { validateHosts } from "./validate-hosts.js";

/** The install, in order (seed 001): everything in parallel up to the primary; then servers one by one; then agents. */
export const INSTALL_PHASES: Array<Phase<InstallContext>> = [
  connect,
  gatherFacts,
  validateHosts,
  distributeArtifacts,
  nodeServices,
  registryReplicas,
  configureDistro,
  startPrimary,
  joinServers,
  joinAgents,
  fetchKubeconfig,
];
