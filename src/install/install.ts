import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { artifactsFromPlan } from "../artifacts/plan-artifacts.js";
import { releaseFilesInStore } from "../artifacts/release-files.js";
import { OperatorError } from "../errors.js";
import type { Events } from "../events.js";
import { hostsFromPlan } from "../hosts/connect.js";
import type { SudoPasswordSource } from "../hosts/sudo.js";
import { fileSource } from "../hosts/upload-source.js";
import { archiveRepoTags } from "../image/archive-tags.js";
import { putAirstrapImage } from "../image/in-store.js";
import type { Plan, PlannedBootstrap } from "../plan/types.js";
import { renderHostFiles } from "../render/host-files.js";
import { renderManifestBundle } from "../render/in-cluster/kustomize.js";
import { inClusterObjects } from "../render/in-cluster/objects.js";
import type { TransferProgress } from "../services/files/config.js";
import { startFileServer } from "../services/files/service.js";
import { listImages } from "../services/registry/transfer.js";
import { writePlanState } from "../state/plan-state.js";
import type { StateDir } from "../state/state-dir.js";
import { generateToken } from "../state/state-dir.js";
import { openBlobStore } from "../store/blob-store.js";
import { digestHex } from "../store/digest.js";
import { startBootstrapRegistry } from "./bootstrap-registry.js";
import type { CarriedFile, InstallContext } from "./context.js";
import { registryMaterial } from "./registry-material.js";
import { changeDoor, type InstallReport, runSteps } from "./runner.js";
import { INSTALL_STEPS } from "./steps.js";

export interface InstallOptions {
  plan: Plan;
  manifestDir: string;
  state: StateDir;
  storeRoot: string;
  nodeBinaryPath: string;
  /** airstrap's image (docker-archive) for the distro's air-gap images folder on every node. */
  nodeImagePath?: string;
  /** The cluster manifest as written: the site ConfigMap the node agents follow holds it. */
  manifestText?: string;
  events: Events;
  dryRun: boolean;
  concurrency: number;
  readyTimeoutMs: number;
  /** "http": hosts fetch carried files from a file server on the bootstrap address; "ssh": uploaded to each. */
  artifactTransfer: ArtifactTransfer;
  /** Where the sudo password comes from when a host asks (default: AIRSTRAP_SUDO_PASSWORD). */
  sudoPassword?: SudoPasswordSource;
}

export type ArtifactTransfer = "http" | "ssh";

/** From a plan and a loaded store to a running cluster: builds the context and runs every phase. */
export async function installCluster(options: InstallOptions): Promise<InstallReport> {
  const { plan, state, events } = options;
  const token = await state.ensureSecret("token", generateToken);
  const releaseFiles = await releaseFilesFromStore(plan, options.manifestDir, options.storeRoot);
  const nodeBinary: CarriedFile = {
    name: "airstrap",
    localPath: options.nodeBinaryPath,
    ...(await fileSource(options.nodeBinaryPath)),
  };
  const nodeImage: CarriedFile | undefined = options.nodeImagePath
    ? { name: "airstrap-image", localPath: options.nodeImagePath, ...(await fileSource(options.nodeImagePath)) }
    : undefined;
  const inClusterManifest =
    nodeImage && options.manifestText !== undefined
      ? await inClusterManifestFor(plan, options.manifestText, nodeImage.localPath)
      : undefined;
  const carried = [nodeBinary, ...(nodeImage ? [nodeImage] : []), ...releaseFiles];
  const serving = options.artifactTransfer === "http" ? plan.bootstrap : undefined;
  // In the store, the image goes with the rest to every registry replica: what pods pull by name.
  if (nodeImage && serving && !options.dryRun)
    await putAirstrapImage(options.storeRoot, nodeImage.localPath, plan.distro.arch);
  if (!nodeImage) {
    events.emit({
      level: "warn",
      kind: "install.image.absent",
      message:
        "no airstrap image (none in the store for this version, no --image): nodes get no pre-loaded image and no in-cluster objects",
    });
  }
  const registry = await registryContext(options, serving);
  const hosts = hostsFromPlan(plan, {
    stateDir: state,
    events,
    baseDir: options.manifestDir,
    ...(options.sudoPassword ? { sudoPassword: options.sudoPassword } : {}),
  });
  const ctx: InstallContext = {
    plan,
    events,
    dryRun: options.dryRun,
    hosts,
    change: changeDoor(events, options.dryRun),
    facts: new Map(),
    files: renderHostFiles(plan, { token }),
    releaseFiles,
    nodeBinary,
    ...(nodeImage ? { nodeImage } : {}),
    ...(inClusterManifest ? { inClusterManifest } : {}),
    ...(serving ? { filesUrl: serving.filesUrl } : {}),
    ...(registry ? { registry, siteCa: registry.material.siteCa } : {}),
    sshOnlyHosts: new Set(),
    concurrency: options.concurrency,
    readyTimeoutMs: options.readyTimeoutMs,
    kubeconfigPath: state.file("kubeconfig"),
  };
  const services: Array<{ close(): Promise<void> }> = [];
  try {
    if (serving && !options.dryRun) {
      services.push(
        await startFileServer(
          {
            address: serving.address,
            port: Number(new URL(serving.filesUrl).port),
            files: carried.map((f) => ({ sha256: f.sha256, path: f.localPath })),
            allowedNetworks: plan.dns.allowedNetworks,
            onProgress: fetchProgress(plan, carried, events),
          },
          events,
        ),
      );
    }
    if (registry?.seed && !options.dryRun)
      services.push(await startBootstrapRegistry(plan, state, options.storeRoot, events));
    const report = await runSteps(INSTALL_STEPS, ctx, {
      concurrency: options.concurrency,
      essential: (host) => host.name === plan.joinOrder.primary,
    });
    // Once the primary runs, it stays primary for every later plan (see planCluster).
    if (!options.dryRun && !report.failures.some((f) => f.host === plan.joinOrder.primary)) {
      await writePlanState(state, { initializedPrimary: plan.joinOrder.primary });
    }
    return report;
  } finally {
    await Promise.all([...hosts.values()].map((h) => h.close()));
    await Promise.all(services.map((service) => service.close()));
  }
}

/** The file server's progress as the install's per-host progress events (what the live tree shows). */
function fetchProgress(plan: Plan, files: CarriedFile[], events: Events): (progress: TransferProgress) => void {
  const hostByAddress = new Map(plan.hosts.map((h) => [h.address, h.name]));
  const nameBySha = new Map(files.map((f) => [f.sha256, f.name === "airstrap" ? "the airstrap executable" : f.name]));
  return ({ client, sha256, sent, total }) => {
    const host = hostByAddress.get(client);
    if (!host) return;
    events.emit({
      level: "debug",
      kind: "install.upload.progress",
      host,
      message: nameBySha.get(sha256) ?? sha256,
      detail: { sent, total },
    });
  };
}

/**
 * The replicas' certificates and token, and — when install serves from the bootstrap machine —
 * the store's tags they must end up holding.
 */
async function registryContext(
  options: InstallOptions,
  serving: PlannedBootstrap | undefined,
): Promise<InstallContext["registry"]> {
  const material = await registryMaterial(options.plan, options.state);
  if (!material) return undefined;
  const images = serving ? await listImages(options.storeRoot) : [];
  if (!serving || images.length === 0) {
    options.events.emit({
      level: "warn",
      kind: "install.registry.unseeded",
      message: serving
        ? "the store holds no images or releases: the registry replicas start empty"
        : "nothing is served from the bootstrap machine (no spec.bootstrap.address, or --artifact-transfer ssh): the registry replicas start empty; push images to them with the push token",
    });
    return { material };
  }
  return { material, seed: { url: serving.registryUrl, images } };
}

/** The release files the plan needs, read from the store's blobs (their names are their SHA-256). */
async function releaseFilesFromStore(plan: Plan, manifestDir: string, storeRoot: string): Promise<CarriedFile[]> {
  const store = await openBlobStore(storeRoot);
  const files = await releaseFilesInStore(store, artifactsFromPlan(plan, manifestDir).catalog);
  return Promise.all(
    files.map(async (file) => ({
      name: file.name,
      localPath: file.path,
      ...(await fileSource(file.path, digestHex(file.digest))),
    })),
  );
}

/** The DaemonSet runs the very image pre-loaded on the nodes: its name comes from the archive. */
async function inClusterManifestFor(plan: Plan, manifestText: string, archive: string): Promise<string> {
  const [image] = await archiveRepoTags(archive);
  if (!image) throw new OperatorError(`${archive}: the image has no name`, { hint: "build it with make image" });
  return renderManifestBundle(inClusterObjects({ plan, manifestText, image }));
}

/**
 * The single-file executable shipped to nodes: the one given, else this very program when it is
 * one, else dist/airstrap-linux-<arch> of this checkout (`make dist`).
 */
export function findNodeBinary(arch: string, given: string | undefined, isSea: boolean): string {
  const candidates = given
    ? [resolve(given)]
    : [
        ...(isSea ? [process.execPath] : []),
        join(dirname(resolve(process.argv[1] ?? ".")), "..", "dist", `airstrap-linux-${arch}`),
      ];
  const found = candidates.find((path) => existsSync(path));
  if (!found) {
    throw new OperatorError(`no airstrap executable for ${arch} nodes (looked at ${candidates.join(", ")})`, {
      hint: given ? "check the --node-binary path" : "build it with make dist, or name it with --node-binary FILE",
    });
  }
  return found;
}
