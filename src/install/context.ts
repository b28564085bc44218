import type { UploadSource } from "../hosts/host.js";
import type { RenderedFile } from "../render/host-files.js";
import type { HostFacts } from "./facts.js";
import type { PhaseContext } from "./phase.js";
import type { RegistryMaterial } from "./registry-material.js";
import type { RelayPlan } from "./relay.js";

/** A file carried to every node (a release file from the store, the airstrap binary). */
export interface CarriedFile extends UploadSource {
  name: string;
  /** Where it lies on this machine (what the file server sends). */
  localPath: string;
}

/**
 * Everything the install phases share. `installCluster` builds all of it before any phase runs,
 * except what a phase says it provides (in its `prepare`, run once by the runner before the first
 * host enters it); each field says who writes it.
 */
export interface InstallContext extends PhaseContext {
  /** Filled by the gather-facts phase (each host its own entry); later phases choose their hosts from it. */
  readonly facts: Map<string, HostFacts>;
  /** Per host: the rendered distro config, registries.yaml, plan.json and units. */
  files: ReadonlyMap<string, RenderedFile[]>;
  /** The distro's release files (names as upstream publishes them), placed in ARTIFACT_DIR. */
  releaseFiles: CarriedFile[];
  /** The single-file executable for the node's architecture. */
  nodeBinary: CarriedFile;
  /** airstrap's image as a docker-archive, pre-loaded on every node (absent: none was given or built). */
  nodeImage?: CarriedFile;
  /** The in-cluster objects as one YAML for the servers' auto-deploy folder (absent without nodeImage to run them). */
  inClusterManifest?: string;
  /** `http://<bootstrap>:<port>` while install serves the carried files there; absent: everything goes over SSH. */
  filesUrl?: string;
  /**
   * Who passes the carried files on to whom, when they are served over HTTP; provided by the node
   * services phase (its prepare, before any host fetches the executable), which also stops the
   * relays when the run ends. Read by the distribute phase.
   */
  relay?: RelayPlan;
  /**
   * Hosts that could not reach the file server: they get their files over SSH for the rest of the
   * run. Created (empty) by install; only `ensureCarriedFiles` adds to it, for the host it works on.
   */
  readonly sshOnlyHosts: Set<string>;
  /** Registry replicas: what they install, and where they copy the store's images from (absent: start empty). */
  registry?: {
    material: RegistryMaterial;
    seed?: { url: string; images: SeedImages };
  };
  /** PEM of the site CA that registries.yaml trusts, when the registry runs with TLS. */
  siteCa?: string;
  /** Hosts worked on at once (--concurrency). */
  concurrency: number;
  /** How long a server or agent may take to become ready. */
  readyTimeoutMs: number;
  /** Where the fetched kubeconfig is saved (mode 0600). */
  kubeconfigPath: string;
}

/** Where release files land on a node; install.sh is pointed here (INSTALL_RKE2_ARTIFACT_PATH). */
export const ARTIFACT_DIR = "/var/lib/airstrap/artifacts";

export type SeedImages = Array<{ repo: string; tags: string[] }>;
