import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { parseManifestObjects } from "../../src/artifacts/manifest-images.js";
import { applyOrder, rewriteImages, siteImage } from "../../src/gitops/flux-components.js";
import {
  gitCredentialsSecret,
  receiver,
  receiverNodePortService,
  receiverWebhookPath,
  siteObjects,
  sopsAgeSecret,
} from "../../src/gitops/objects.js";
import { contains } from "../../src/kube/apply.js";
import { syntheticFluxInstall } from "../helpers/flux-release.js";

/**
 * Flux's v1 APIs as their CRDs declare them (kustomize-controller, source-controller and
 * notification-controller config/crd/bases, read for this test): required fields per object,
 * the properties spec may have, and the enums used here. The CRDs are not in kubernetes-models.
 */
const FLUX_API = {
  GitRepository: {
    apiVersion: "source.toolkit.fluxcd.io/v1",
    required: ["interval", "url"],
    properties:
      "ignore include interval provider proxySecretRef recurseSubmodules ref secretRef serviceAccountName sparseCheckout suspend timeout url verify",
  },
  Kustomization: {
    apiVersion: "kustomize.toolkit.fluxcd.io/v1",
    required: ["interval", "prune", "sourceRef"],
    properties:
      "buildMetadata commonMetadata components decryption deletionPolicy dependsOn force healthCheckExprs healthChecks ignore ignoreMissingComponents images interval kubeConfig namePrefix nameSuffix patches path postBuild prune retryInterval serviceAccountName sourceRef suspend targetNamespace timeout wait",
  },
  Receiver: {
    apiVersion: "notification.toolkit.fluxcd.io/v1",
    required: ["resources", "type"],
    properties: "events interval oidcProviders resourceFilter resources secretRef suspend type",
  },
} as const;

const DURATION = /^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$/;

function checkFluxShape(object: {
  apiVersion?: string;
  kind?: string;
  spec?: unknown;
  metadata?: { name?: string; namespace?: string };
}) {
  const api = FLUX_API[object.kind as keyof typeof FLUX_API];
  assert.ok(api, `${object.kind} is a Flux kind this test knows`);
  assert.equal(object.apiVersion, api.apiVersion);
  assert.match(object.metadata?.name ?? "", /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
  assert.equal(object.metadata?.namespace, "flux-system");
  const spec = object.spec as Record<string, unknown>;
  for (const field of api.required) assert.ok(spec[field] !== undefined, `${object.kind}.spec.${field} is required`);
  const allowed = new Set(api.properties.split(" "));
  for (const field of Object.keys(spec))
    assert.ok(allowed.has(field), `${object.kind}.spec.${field} is not in the API`);
  for (const field of ["interval", "timeout", "retryInterval"])
    if (spec[field] !== undefined) assert.match(String(spec[field]), DURATION, `${object.kind}.spec.${field}`);
}

const stages = [
  { name: "bootstrap", path: "stages/bootstrap", dependsOn: [] },
  { name: "cluster-base-apps", path: "./stages/cluster-base-apps/", dependsOn: ["bootstrap"] },
  { name: "cluster-apps", path: "stages/cluster-apps", dependsOn: ["cluster-base-apps", "bootstrap"] },
];
const source = { name: "site", url: "http://10.77.0.1:8418/site.git", branch: "main" };

test("one GitRepository and one Kustomization per stage, each of the shape Flux's v1 API requires", () => {
  const objects = siteObjects(source, stages);
  assert.deepEqual(
    objects.map((o) => `${o.kind}/${o.metadata?.name}`),
    ["GitRepository/site", "Kustomization/bootstrap", "Kustomization/cluster-base-apps", "Kustomization/cluster-apps"],
  );
  for (const object of [...objects, receiver("site")]) checkFluxShape(object);
  const [repository, ...kustomizations] = objects as Array<{ spec: Record<string, unknown> }>;
  assert.deepEqual(repository!.spec.ref, { branch: "main" });
  assert.deepEqual(repository!.spec.secretRef, { name: "airstrap-git" });
  assert.deepEqual(
    kustomizations.map((k) => k.spec.path),
    ["./stages/bootstrap", "./stages/cluster-base-apps", "./stages/cluster-apps"],
  );
  assert.deepEqual(
    kustomizations.map((k) => k.spec.dependsOn),
    [undefined, [{ name: "bootstrap" }], [{ name: "cluster-base-apps" }, { name: "bootstrap" }]],
  );
  for (const k of kustomizations) {
    assert.equal(k.spec.prune, true);
    assert.equal(k.spec.wait, true);
    assert.deepEqual(k.spec.sourceRef, { kind: "GitRepository", name: "site" });
    assert.deepEqual(k.spec.decryption, { provider: "sops", secretRef: { name: "sops-age" } });
  }
});

test("the Receiver is generic-hmac on the site GitRepository; its path is notification-controller's", () => {
  const spec = receiver("site").spec as { type: string; secretRef: unknown; resources: unknown[] };
  assert.equal(spec.type, "generic-hmac");
  assert.deepEqual(spec.secretRef, { name: "airstrap-webhook" });
  assert.deepEqual(spec.resources, [
    { apiVersion: "source.toolkit.fluxcd.io/v1", kind: "GitRepository", name: "site" },
  ]);
  const token = "0123456789abcdef";
  assert.equal(
    receiverWebhookPath(token),
    `/hook/${createHash("sha256").update(`${token}airstrap-gitflux-system`).digest("hex")}`,
  );
  const service = receiverNodePortService(30292).spec as {
    type: string;
    ports: Array<{ nodePort: number; targetPort: string }>;
  };
  assert.equal(service.type, "NodePort");
  assert.deepEqual([service.ports[0]!.nodePort, service.ports[0]!.targetPort], [30292, "http-webhook"]);
});

test("Secrets carry base64 data under the keys Flux reads", () => {
  const git = gitCredentialsSecret("read-token-value") as { data: Record<string, string> };
  assert.deepEqual(
    Object.fromEntries(Object.entries(git.data).map(([k, v]) => [k, Buffer.from(v, "base64").toString()])),
    { username: "flux", password: "read-token-value" },
  );
  const age = sopsAgeSecret(["AGE-SECRET-KEY-1AAA", "AGE-SECRET-KEY-1BBB"]) as { data: Record<string, string> };
  assert.deepEqual(Object.keys(age.data), ["age.agekey"]);
  assert.equal(Buffer.from(age.data["age.agekey"]!, "base64").toString(), "AGE-SECRET-KEY-1AAA\nAGE-SECRET-KEY-1BBB\n");
});

test("Flux's images point at the site registry with the carried digest; CRDs and the namespace go first", () => {
  const digest = `sha256:${"a".repeat(64)}`;
  const objects = parseManifestObjects(
    syntheticFluxInstall({
      "source-controller": "ghcr.io/fluxcd/source-controller:v1.9.4",
      "kustomize-controller": "ghcr.io/fluxcd/kustomize-controller:v1.9.2",
      "helm-controller": "ghcr.io/fluxcd/helm-controller:v1.6.0",
      "notification-controller": `ghcr.io/fluxcd/notification-controller:v1.9.0@${digest}`,
    }),
    "install.yaml",
  );
  const rewritten = rewriteImages(objects, "registry.site.lan:5000", (reference) =>
    reference.includes("source-controller") ? { repository: "ghcr.io/fluxcd/source-controller", digest } : undefined,
  );
  const images = rewritten.flatMap((o) =>
    o.kind === "Deployment"
      ? (o.spec as { template: { spec: { containers: Array<{ image: string }> } } }).template.spec.containers.map(
          (c) => c.image,
        )
      : [],
  );
  assert.deepEqual(images, [
    `registry.site.lan:5000/ghcr.io/fluxcd/source-controller:v1.9.4@${digest}`,
    "registry.site.lan:5000/ghcr.io/fluxcd/kustomize-controller:v1.9.2",
    "registry.site.lan:5000/ghcr.io/fluxcd/helm-controller:v1.6.0",
    `registry.site.lan:5000/ghcr.io/fluxcd/notification-controller:v1.9.0@${digest}`,
  ]);
  assert.match(
    JSON.stringify(objects),
    /"image":"ghcr.io\/fluxcd\/source-controller:v1.9.4"/,
    "the input is not changed",
  );
  assert.equal(siteImage("127.0.0.1:5000/fluxcd/x:v1", "r:5000", undefined), "r:5000/fluxcd/x:v1");
  const order = applyOrder([...objects].reverse()).map((o) => o.kind);
  assert.deepEqual(order.slice(0, 4), [
    "Namespace",
    "CustomResourceDefinition",
    "CustomResourceDefinition",
    "CustomResourceDefinition",
  ]);
});

test("compare-then-apply: what the server adds is no difference, what airstrap sets is", () => {
  const desired = { spec: { ports: [{ port: 80 }], wait: true }, metadata: { name: "a" } };
  const served = {
    spec: { ports: [{ port: 80, protocol: "TCP" }], wait: true, extra: 1 },
    metadata: { name: "a", uid: "x" },
    status: {},
  };
  assert.ok(contains(served, desired));
  assert.ok(!contains({ ...served, spec: { ...served.spec, wait: false } }, desired));
  assert.ok(
    !contains({ spec: { ports: [{ port: 80 }, { port: 81 }], wait: true }, metadata: { name: "a" } }, desired),
    "lists compare by length",
  );
  assert.ok(!contains(undefined, desired));
});
