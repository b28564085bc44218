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

/** Everything the install phases share; built once by `airstrap install`. */
export interface InstallContext extends PhaseContext {
  /** Filled by the gather-facts phase; later phases choose their hosts from it. */
  facts: Map<string, HostFacts>;
  /** Per host: the rendered distro config, registries.yaml, plan.json and units. */
  files: ReadonlyMap<string, RenderedFile[]>;
  /** The distro's release files (names as upstream publishes them), placed in ARTIFACT_DIR. */
  releaseFiles: CarriedFile[];
  /** The single-file executable for the node's architecture. */
  nodeBinary: CarriedFile;
  /** `http://<bootstrap>:<port>` while install serves the carried files there; absent: everything goes over SSH. */
  filesUrl?: string;
  /** Who passes the release files on to whom; made by the distribute phase when files are served over HTTP. */
  relay?: RelayPlan;
  /** Hosts that could not reach the file server: they get their files over SSH for the rest of the run. */
  sshOnlyHosts: Set<string>;
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
