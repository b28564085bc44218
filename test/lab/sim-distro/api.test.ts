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
  assert.deepEqual(groups, ["apps", "batch"]);
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
