import assert from "node:assert/strict";
import { test } from "node:test";
import { type ApiContext, handleApi } from "../../../src/lab/sim-distro/api.js";
import { nodeKey, nodeObject } from "../../../src/lab/sim-distro/nodes.js";
import { ObjectStore } from "../../../src/lab/sim-distro/store.js";

const now = new Date("2026-01-01T00:00:00Z");
function context(): ApiContext {
  return { store: new ObjectStore("s1"), version: "v1.31.4+rke2r1", serverAddress: "10.0.0.1:6443", now: () => now };
}
const call = (
  ctx: ApiContext,
  method: string,
  path: string,
  body = "",
  extra: { accept?: string; contentType?: string } = {},
) => handleApi(ctx, { method, path, body, ...extra });

test("discovery answers what kubectl asks before it lists anything", () => {
  const ctx = context();
  assert.deepEqual((call(ctx, "GET", "/api").body as { versions: string[] }).versions, ["v1"]);
  const groups = (call(ctx, "GET", "/apis").body as { groups: Array<{ name: string }> }).groups.map(
    (group) => group.name,
  );
  assert.deepEqual(groups, ["apps", "batch", "rbac.authorization.k8s.io", "networking.k8s.io", "apiextensions.k8s.io"]);
  const core = call(ctx, "GET", "/api/v1").body as { resources: Array<{ name: string; namespaced: boolean }> };
  assert.deepEqual(core.resources.find((resource) => resource.name === "nodes")?.namespaced, false);
  assert.ok(
    (call(ctx, "GET", "/apis/apps/v1").body as { resources: Array<{ name: string }> }).resources.some(
      (r) => r.name === "daemonsets",
    ),
  );
  assert.equal(call(ctx, "GET", "/apis/nope/v1").status, 404);
  assert.equal((call(ctx, "GET", "/version").body as { minor: string }).minor, "31");
});

test("objects are stored generically: create, conflict, read, list by namespace, merge patch, apply, delete", () => {
  const ctx = context();
  const cm = JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "records" }, data: { a: "1" } });
  assert.equal(call(ctx, "POST", "/api/v1/namespaces/kube-system/configmaps", cm).status, 201);
  assert.equal(call(ctx, "POST", "/api/v1/namespaces/kube-system/configmaps", cm).status, 409);
  assert.equal(call(ctx, "GET", "/api/v1/namespaces/default/configmaps/records").status, 404);
  const read = call(ctx, "GET", "/api/v1/namespaces/kube-system/configmaps/records").body as {
    metadata: { namespace: string };
  };
  assert.equal(read.metadata.namespace, "kube-system");
  const patched = call(
    ctx,
    "PATCH",
    "/api/v1/namespaces/kube-system/configmaps/records",
    '{"data":{"a":null,"b":"2"}}',
    {
      contentType: "application/merge-patch+json",
    },
  );
  assert.deepEqual((patched.body as { data: unknown }).data, { b: "2" });
  const applied = call(
    ctx,
    "PATCH",
    "/apis/apps/v1/namespaces/kube-system/daemonsets/node?fieldManager=x",
    "kind: DaemonSet\nmetadata: {name: node}\n",
    {
      contentType: "application/apply-patch+yaml",
    },
  );
  assert.equal(applied.status, 201);
  assert.equal((call(ctx, "GET", "/apis/apps/v1/daemonsets").body as { items: unknown[] }).items.length, 1);
  assert.equal(
    (call(ctx, "GET", "/apis/apps/v1/namespaces/default/daemonsets").body as { items: unknown[] }).items.length,
    0,
  );
  assert.equal(call(ctx, "DELETE", "/api/v1/namespaces/kube-system/configmaps/records").status, 200);
  assert.equal(call(ctx, "GET", "/api/v1/namespaces/kube-system/configmaps/records").status, 404);
  assert.equal(call(ctx, "POST", "/api/v1/namespaces/x/configmaps", "[1,2]").status, 400);
});

test("kubectl's Table for nodes carries status, roles, age and version", () => {
  const ctx = context();
  const registration = {
    name: "s1",
    address: "10.0.0.11",
    role: "server" as const,
    labels: {},
    taints: [],
    version: "v1.31.4+rke2r1",
  };
  ctx.store.put(nodeKey("s1"), nodeObject(registration, new Date(now.getTime() - 90_000)));
  const table = call(ctx, "GET", "/api/v1/nodes", "", {
    accept: "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
  }).body as { columnDefinitions: Array<{ name: string }>; rows: Array<{ cells: unknown[] }> };
  assert.deepEqual(
    table.columnDefinitions.map((column) => column.name),
    ["Name", "Status", "Roles", "Age", "Version"],
  );
  // 90 s without a heartbeat is past the grace period.
  assert.deepEqual(table.rows[0]!.cells, ["s1", "NotReady", "control-plane,etcd,master", "90s", "v1.31.4+rke2r1"]);
});

test("SIMULATION of CRDs: an applied CRD adds its resources to discovery; its status changes only through /status", () => {
  const ctx = context();
  const crd = {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: "kustomizations.kustomize.toolkit.fluxcd.io" },
    spec: {
      group: "kustomize.toolkit.fluxcd.io",
      names: { kind: "Kustomization", plural: "kustomizations", singular: "kustomization", shortNames: ["ks"] },
      scope: "Namespaced",
      versions: [
        { name: "v1", served: true, storage: true, subresources: { status: {} } },
        { name: "v1beta1", served: false },
      ],
    },
  };
  const apply = { contentType: "application/apply-patch+yaml" };
  assert.equal(call(ctx, "GET", "/apis/kustomize.toolkit.fluxcd.io/v1").status, 404);
  assert.equal(
    call(
      ctx,
      "PATCH",
      `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`,
      JSON.stringify(crd),
      apply,
    ).status,
    201,
  );
  const groups = call(ctx, "GET", "/apis").body as { groups: Array<{ name: string; versions: unknown[] }> };
  assert.equal(
    groups.groups.find((g) => g.name === "kustomize.toolkit.fluxcd.io")?.versions.length,
    1,
    "v1beta1 is not served",
  );
  const resources = (
    call(ctx, "GET", "/apis/kustomize.toolkit.fluxcd.io/v1").body as { resources: Array<{ name: string }> }
  ).resources;
  assert.deepEqual(
    resources.map((r) => r.name),
    ["kustomizations", "kustomizations/status"],
  );

  const path = "/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations/apps";
  const object = { apiVersion: "kustomize.toolkit.fluxcd.io/v1", kind: "Kustomization", metadata: { name: "apps" } };
  const first = call(ctx, "PATCH", path, JSON.stringify({ ...object, spec: { path: "./a" }, status: { x: 1 } }), apply);
  const stored = first.body as { metadata: { generation: number }; status?: unknown };
  assert.equal(stored.metadata.generation, 1);
  assert.equal(stored.status, undefined, "status sent with the object is dropped");
  const ready = { status: { conditions: [{ type: "Ready", status: "True" }] } };
  call(ctx, "PATCH", `${path}/status`, JSON.stringify(ready), { contentType: "application/merge-patch+json" });
  const same = call(ctx, "PATCH", path, JSON.stringify({ ...object, spec: { path: "./a" } }), apply).body as {
    metadata: { generation: number };
    status: unknown;
  };
  assert.equal(same.metadata.generation, 1, "the same spec again keeps the generation");
  assert.deepEqual(same.status, ready.status, "applying the object keeps the status");
  const changed = call(ctx, "PATCH", path, JSON.stringify({ ...object, spec: { path: "./b" } }), apply).body as {
    metadata: { generation: number };
  };
  assert.equal(changed.metadata.generation, 2);
  assert.equal(
    call(ctx, "PATCH", `${path}-missing/status`, "{}", { contentType: "application/merge-patch+json" }).status,
    404,
  );
});
