import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { DaemonSet } from "kubernetes-models/apps/v1";
import { Role, RoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1";
import { ConfigMap, Namespace, ServiceAccount } from "kubernetes-models/v1";
import { parseAllDocuments } from "yaml";
import { validateManifestText } from "../../../src/manifest/validate.js";
import { planCluster } from "../../../src/plan/plan.js";
import { IN_CLUSTER_DIR, renderKustomizeFolder } from "../../../src/render/in-cluster/kustomize.js";
import { inClusterObjects, type KubeObject, SITE_MANIFEST_KEY } from "../../../src/render/in-cluster/objects.js";
import { example } from "../../helpers/cli.js";

const run = promisify(execFile);

/** The OpenAPI schema of each kind, as kubernetes-models carries it; `validate()` throws on a violation. */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  Namespace,
  ServiceAccount,
  ConfigMap,
  DaemonSet,
  Role,
  RoleBinding,
};

function validateObject(object: KubeObject): void {
  const Model = MODELS[object.kind];
  assert.ok(Model, `no schema for ${object.kind}`);
  new Model(object as never).validate();
}

async function siteObjects() {
  const text = await readFile(example("rke2-ha.yaml"), "utf8");
  const result = validateManifestText(text, "rke2-ha.yaml", {});
  assert.ok(result.manifest, JSON.stringify(result.diagnostics));
  const plan = planCluster(result.manifest);
  return { text, objects: inClusterObjects({ plan, manifestText: text, image: "airstrap/airstrap:1.2.3" }) };
}

test("kubectl kustomize renders the folder, and every object it gives validates against the Kubernetes schema", async (t) => {
  const kubectl = await run("kubectl", ["version", "--client"]).catch(() => undefined);
  if (!kubectl) return t.skip("kubectl is not installed");
  const { objects } = await siteObjects();
  const dir = await mkdtemp(join(tmpdir(), "airstrap-kustomize-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  for (const file of renderKustomizeFolder(objects)) {
    await mkdir(dirname(join(dir, file.path)), { recursive: true });
    await writeFile(join(dir, file.path), file.content);
  }
  const { stdout } = await run("kubectl", ["kustomize", join(dir, IN_CLUSTER_DIR)], { timeout: 60_000 });
  const rendered = parseAllDocuments(stdout).map((doc) => doc.toJS() as KubeObject);
  assert.deepEqual(
    rendered.map((o) => `${o.kind}/${o.metadata.name}`).sort(),
    objects.map((o) => `${o.kind}/${o.metadata.name}`).sort(),
  );
  for (const object of rendered) validateObject(object);
});

test("the schema check catches a broken object (so the test above can fail)", async () => {
  const { objects } = await siteObjects();
  const daemonSet = structuredClone(objects.find((o) => o.kind === "DaemonSet")!);
  (daemonSet.spec as { template: { spec: { hostNetwork: unknown } } }).template.spec.hostNetwork = "yes";
  assert.throws(() => validateObject(daemonSet), /hostNetwork/);
});

test("the DaemonSet runs the agent on every node's network, with the node's address, as a critical pod", async () => {
  const { text, objects } = await siteObjects();
  const daemonSet = new DaemonSet(objects.find((o) => o.kind === "DaemonSet") as never);
  const pod = daemonSet.spec!.template.spec!;
  assert.equal(pod.hostNetwork, true);
  assert.equal(pod.priorityClassName, "system-node-critical");
  assert.ok(pod.tolerations?.some((t) => t.key === "node-role.kubernetes.io/control-plane"));
  const container = pod.containers[0]!;
  assert.equal(container.image, "airstrap/airstrap:1.2.3");
  assert.equal(container.imagePullPolicy, "IfNotPresent");
  assert.deepEqual(container.args?.slice(0, 2), ["node", "agent"]);
  const address = container.env?.find((e) => e.name === "NODE_ADDRESS");
  assert.equal(address?.valueFrom?.fieldRef?.fieldPath, "status.hostIP");
  assert.ok(container.resources?.requests?.memory && container.resources.limits?.memory);
  assert.equal(container.readinessProbe?.httpGet?.path, "/healthz");
  assert.equal(container.livenessProbe?.httpGet?.path, "/healthz");
  const configMap = objects.find((o) => o.kind === "ConfigMap") as unknown as { data: Record<string, string> };
  assert.equal(configMap.data[SITE_MANIFEST_KEY], text);
});

test("the agent's role reads its own ConfigMap, writes its nodes' status ConfigMaps and Events, nothing else", async () => {
  const { objects } = await siteObjects();
  const role = objects.find((o) => o.kind === "Role") as unknown as {
    rules: { resources: string[]; verbs: string[]; resourceNames?: string[] }[];
  };
  const configMapRules = role.rules.filter((rule) => rule.resources.includes("configmaps"));
  assert.deepEqual(
    configMapRules.map((rule) => [rule.verbs, rule.resourceNames ?? []]),
    [
      [["get", "list", "watch"], ["airstrap-site"]],
      [["create"], []],
      [
        ["get", "update"],
        [
          "airstrap-node-k8s-server-01",
          "airstrap-node-k8s-server-02",
          "airstrap-node-k8s-server-03",
          "airstrap-node-k8s-agent-01",
          "airstrap-node-k8s-agent-02",
        ],
      ],
    ],
  );
  for (const rule of role.rules) {
    if (rule.resources.includes("configmaps")) {
      assert.ok(!rule.verbs.includes("delete") && !rule.verbs.includes("patch"));
    } else {
      assert.deepEqual(rule.resources, ["events"]);
      assert.ok(rule.verbs.every((verb) => verb === "create" || verb === "patch"));
    }
  }
  assert.ok(!objects.some((o) => o.kind === "ClusterRole" || o.kind === "ClusterRoleBinding"));
});
