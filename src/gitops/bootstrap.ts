import { findImage, readArtifactIndex } from "../artifacts/artifact-index.js";
import { fluxInstallInStore } from "../artifacts/flux-artifacts.js";
import { fluxCatalog } from "../artifacts/flux-catalog.js";
import { parseManifestObjects } from "../artifacts/manifest-images.js";
import { OperatorError } from "../errors.js";
import type { Events } from "../events.js";
import { type AppliedObject, type Applier, createApplier, type KubeObject } from "../kube/apply.js";
import type { KubeClient } from "../kube/client.js";
import type { Plan } from "../plan/types.js";
import { registerSecret } from "../secrets.js";
import { ageIdentities } from "../sops/files.js";
import type { StateDir } from "../state/state-dir.js";
import type { BlobStore } from "../store/blob-store.js";
import { applyOrder, rewriteImages } from "./flux-components.js";
import { gitServerMaterial } from "./git-material.js";
import {
  gitCredentialsSecret,
  namespaceObject,
  receiver,
  receiverNodePortService,
  receiverSecret,
  receiverWebhookPath,
  siteObjects,
  sopsAgeSecret,
} from "./objects.js";
import { pushSiteRepository } from "./push-site.js";
import type { StageStatus } from "./stage-status.js";
import { waitForStages } from "./wait-stages.js";

export interface GitopsBootstrapInput {
  plan: Plan;
  /** The manifest's folder: the site repository whose stage folders are pushed. */
  siteDir: string;
  state: StateDir;
  store: BlobStore;
  kube: KubeClient;
  /** The age key file for the sops-age Secret; default: where sops looks (SOPS_AGE_KEY_FILE, …). */
  ageKeyFile?: string;
  env?: NodeJS.ProcessEnv;
  /** The git binary that pushes. */
  git?: string;
  /** The registry images are rewritten to (host:port); default the plan's first registry replica. */
  registryHost?: string;
  timeoutMs: number;
  intervalMs?: number;
  /** The API discovery retries while a just-applied CRD becomes served. */
  discoveryRetryDelayMs?: number;
}

export interface GitopsBootstrapResult {
  commit: string;
  pushed: boolean;
  applied: AppliedObject[];
  stages: StageStatus[];
  /** Where the git server's webhook goes: the Receiver through its node port. */
  webhookUrl: string;
}

/**
 * Hands the site over to Flux: push the stage folders to the git server → flux-system with the
 * git credentials and sops-age Secrets → Flux's carried components, images pointed at the site
 * registry → one GitRepository and one Kustomization per stage → the Receiver and the git
 * server's webhook → wait for each stage to be Ready, in order. Everything is applied
 * compare-then-apply, so a second run with nothing changed writes nothing.
 */
export async function runGitopsBootstrap(input: GitopsBootstrapInput, events: Events): Promise<GitopsBootstrapResult> {
  const { plan } = input;
  const gitops = plan.gitops;
  if (!gitops || plan.stages.length === 0) {
    throw new OperatorError("the manifest has no spec.stages: there is nothing to hand over to Flux", {
      hint: "list the site repository's stage folders under spec.stages (docs/gitops.md)",
    });
  }
  if (!gitops.url) {
    throw new OperatorError("spec.gitops.url is not set and there is no spec.bootstrap.address to default it from", {
      hint: "set spec.gitops.url to the site repository on the git server, as the cluster reaches it",
    });
  }
  const registryHost = input.registryHost ?? registryHostOf(plan);
  const firstServer = plan.hosts.find((host) => host.role === "server");
  if (!firstServer) throw new Error("a plan without a server");

  const material = await gitServerMaterial(input.state);
  const identities = await ageIdentities(input.ageKeyFile, input.env ?? process.env);
  if (identities.length === 0) {
    throw new OperatorError("no age key found for the sops-age Secret", {
      hint: "give it with --age-key FILE (airstrap secrets keygen -o FILE makes one), or SOPS_AGE_KEY_FILE",
    });
  }

  // Everything is read and rendered before the first change, so a missing piece changes nothing.
  const catalog = fluxCatalog({ ...gitops.flux, baseDir: input.siteDir });
  const components = await fluxComponents(input.store, catalog, registryHost, plan.distro.arch);
  const secrets = [
    gitCredentialsSecret(material.readToken),
    sopsAgeSecret(identities),
    receiverSecret(material.webhookToken),
  ];
  for (const secret of secrets)
    for (const value of Object.values(secret.data as Record<string, string>)) registerSecret(value);
  const source = { name: plan.name, url: gitops.url, branch: gitops.branch };
  const site = [
    ...siteObjects(source, plan.stages),
    receiver(source.name),
    receiverNodePortService(gitops.webhookNodePort),
  ];

  events.emit({
    level: "info",
    kind: "gitops.push",
    message: `pushing ${plan.stages.length} stage folders to ${gitops.url}`,
  });
  const push = await pushSiteRepository({
    git: input.git ?? "git",
    siteDir: input.siteDir,
    paths: plan.stages.map((stage) => stage.path),
    url: gitops.url,
    branch: gitops.branch,
    user: material.pushUser,
    password: material.pushPassword,
  });
  events.emit({
    level: "info",
    kind: "gitops.push",
    message: push.pushed
      ? `pushed ${push.commit.slice(0, 12)} to ${gitops.branch}`
      : `${gitops.branch} already holds these folders (${push.commit.slice(0, 12)}): nothing pushed`,
    detail: { commit: push.commit, pushed: push.pushed },
  });

  const applier = createApplier(input.kube, {
    ...(input.discoveryRetryDelayMs === undefined ? {} : { retryDelayMs: input.discoveryRetryDelayMs }),
  });
  const applied: AppliedObject[] = [];
  for (const object of [namespaceObject(), ...secrets, ...components, ...site])
    applied.push(await applyOne(applier, object, events));
  const changed = applied.filter((a) => a.outcome !== "unchanged").length;
  events.emit({
    level: "info",
    kind: "gitops.applied",
    message: `${applied.length} objects: ${changed} created or changed, ${applied.length - changed} unchanged`,
    detail: { changed, unchanged: applied.length - changed },
  });

  const webhookUrl = `http://${hostForUrl(firstServer.address)}:${gitops.webhookNodePort}${receiverWebhookPath(material.webhookToken)}`;
  await input.state.write("git/webhook-url", `${webhookUrl}\n`);
  events.emit({
    level: "info",
    kind: "gitops.webhook",
    message: `git server webhook: ${webhookUrl} (${input.state.file("git/webhook-url")}; airstrap git serve --webhook-url-file reads it)`,
  });

  const stages = await waitForStages(
    input.kube,
    plan.stages.map((stage) => stage.name),
    events,
    {
      timeoutMs: input.timeoutMs,
      commit: push.commit,
      ...(input.intervalMs === undefined ? {} : { intervalMs: input.intervalMs }),
    },
  );
  return { commit: push.commit, pushed: push.pushed, applied, stages, webhookUrl };
}

async function applyOne(applier: Applier, object: KubeObject, events: Events): Promise<AppliedObject> {
  const result = await applier.apply(object);
  events.emit({
    level: "info",
    kind: "gitops.apply",
    message: `${result.id} ${result.outcome}`,
    detail: { ...result },
  });
  return result;
}

/** The carried install.yaml's objects, CRDs first, images on the site registry at their pinned digests. */
async function fluxComponents(
  store: BlobStore,
  catalog: ReturnType<typeof fluxCatalog>,
  registryHost: string,
  arch: string,
): Promise<KubeObject[]> {
  const text = await fluxInstallInStore(store, catalog);
  const index = await readArtifactIndex(store.root);
  const objects = parseManifestObjects(text, `Flux ${catalog.version} install.yaml`);
  const rewritten = rewriteImages(objects, registryHost, (reference) => {
    const record = findImage(index, reference, arch);
    return record ? { repository: record.repository, digest: record.digest } : undefined;
  });
  return applyOrder(rewritten);
}

function registryHostOf(plan: Plan): string {
  const endpoint = plan.registry.endpoints[0];
  if (!endpoint) {
    throw new OperatorError("no host runs the site registry: Flux's images have nowhere to come from", {
      hint: "list a host under spec.registry.hosts",
    });
  }
  return new URL(endpoint).host;
}

function hostForUrl(address: string): string {
  return address.includes(":") ? `[${address}]` : address;
}
