import assert from "node:assert/strict";
import { test } from "node:test";
import { applyTuning, lbConfigFromFlags } from "../../../src/cli/lb-flags.js";
import { OperatorError, UsageError } from "../../../src/errors.js";
import { loadManifest } from "../../../src/manifest/load.js";
import { planCluster } from "../../../src/plan/plan.js";
import { lbConfigFromPlan, listenerWithDefaults } from "../../../src/services/lb/config.js";
import { validateLbConfig } from "../../../src/services/lb/validate.js";

const planOf = async (example: string) => planCluster((await loadManifest(`examples/${example}.yaml`)).manifest);

test("RKE2 plan: api 16443 → servers' 6443 (GET /readyz), join 19345 → servers' 9345 (GET /ping), on the node's address", async () => {
  const config = lbConfigFromPlan(await planOf("rke2-ha"), "k8s-agent-01");
  const [api, join] = config.listeners;
  assert.equal(api?.name, "api");
  assert.equal(api?.address, "10.77.0.21");
  assert.equal(api?.port, 16443);
  assert.deepEqual(
    api?.backends.static.map((b) => `${b.name}=${b.address}:${b.port}`),
    ["k8s-server-01=10.77.0.11:6443", "k8s-server-02=10.77.0.12:6443", "k8s-server-03=10.77.0.13:6443"],
  );
  assert.deepEqual(api?.backends.discovered, []);
  assert.deepEqual(api?.check.http, { path: "/readyz", expectStatus: [200, 401], tls: true });
  assert.equal(api?.check.intervalMs, 1000);
  assert.equal(join?.port, 19345);
  assert.ok(join?.backends.static.every((b) => b.port === 9345));
  assert.deepEqual(join?.check.http, { path: "/ping", expectStatus: [200], tls: true });
  validateLbConfig(config);
});

test("K3s plan: both listeners forward to the servers' 6443", async () => {
  const config = lbConfigFromPlan(await planOf("k3s-single"), "k3s-01");
  assert.deepEqual(
    config.listeners.map((l) => `${l.name} ${l.port} → ${l.backends.static.map((b) => b.port).join(",")}`),
    ["api 16443 → 6443", "join 19345 → 6443"],
  );
});

test("with a client certificate the API check demands a real 200 from /readyz", async () => {
  const config = lbConfigFromPlan(await planOf("rke2-ha"), "k8s-server-01", {
    apiCheckClientCert: { certFile: "/etc/c.crt", keyFile: "/etc/c.key" },
    listenAddress: "127.0.0.1",
  });
  assert.deepEqual(config.listeners[0]?.check.http?.expectStatus, [200]);
  assert.equal(config.listeners[0]?.check.http?.clientCertFile, "/etc/c.crt");
  assert.equal(config.listeners[0]?.address, "127.0.0.1");
});

test("an unknown node is an operator error naming the hosts", async () => {
  const plan = await planOf("rke2-ha");
  assert.throws(
    () => lbConfigFromPlan(plan, "k8s-server-09"),
    (error: unknown) =>
      error instanceof OperatorError && /k8s-server-09/.test(error.message) && /k8s-server-01/.test(error.hint ?? ""),
  );
});

test("flag form: listen, backends, check and tuning", () => {
  const config = lbConfigFromFlags({
    listen: "127.0.0.1:16443",
    backend: ["127.0.0.2:6443", "[::1]:6443"],
    check: "https:/readyz",
    expectStatus: "200,401",
    interval: "500ms",
    fall: "3",
    connectTimeout: "1s",
    closeOnDown: false,
    admin: "127.0.0.1:9100",
  });
  const listener = config.listeners[0]!;
  assert.equal(listener.port, 16443);
  assert.deepEqual(
    listener.backends.static.map((b) => [b.address, b.port]),
    [
      ["127.0.0.2", 6443],
      ["::1", 6443],
    ],
  );
  assert.deepEqual(listener.check.http, { path: "/readyz", expectStatus: [200, 401], tls: true });
  assert.equal(listener.check.intervalMs, 500);
  assert.equal(listener.check.fall, 3);
  assert.equal(listener.connectTimeoutMs, 1000);
  assert.equal(listener.closeOnBackendDown, false);
  assert.deepEqual(config.admin, { address: "127.0.0.1", port: 9100 });
});

test("bad flags say which flag and what would be valid", () => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ listen: "localhost:80", backend: ["127.0.0.2:1"] }, /--listen: "localhost" is not an IP address/],
    [{ listen: "127.0.0.1:80", backend: ["127.0.0.2"] }, /--backend: "127.0.0.2" is not ADDRESS:PORT/],
    [{ listen: "127.0.0.1:80", backend: ["127.0.0.2:70000"] }, /port 70000 is out of range/],
    [{ listen: "127.0.0.1:80", backend: [] }, /at least one --backend/],
    [{ listen: "127.0.0.1:80", backend: ["127.0.0.2:1"], check: "ftp:/x" }, /--check: "ftp:\/x" is not a check/],
    [{ listen: "127.0.0.1:80", backend: ["127.0.0.2:1"], check: "https:/x", expectStatus: "ok" }, /--expect-status/],
    [{ listen: "127.0.0.1:80", backend: ["127.0.0.2:1"], interval: "soon" }, /--interval: "soon" is not a duration/],
    [{ listen: "127.0.0.1:80", backend: ["127.0.0.2:1"], rise: "0" }, /--rise/],
  ];
  for (const [flags, message] of cases) {
    assert.throws(
      () => lbConfigFromFlags(flags as never),
      (error: unknown) => error instanceof OperatorError && message.test(error.message),
      String(message),
    );
  }
  assert.throws(() => lbConfigFromFlags({ listen: "127.0.0.1:80", backend: [] }), UsageError);
});

test("validation rejects duplicate backends, clashing listeners and empty backend sets", () => {
  const listener = (name: string, port: number, backends: string[]) =>
    listenerWithDefaults({
      name,
      address: "127.0.0.1",
      port,
      backends: backends.map((b) => ({ name: b, address: b.split(":")[0]!, port: Number(b.split(":")[1]) })),
    });
  const base = { drainTimeoutMs: 1000 };
  assert.throws(
    () => validateLbConfig({ ...base, listeners: [listener("a", 1000, ["127.0.0.2:1", "127.0.0.2:1"])] }),
    /listed twice/,
  );
  assert.throws(
    () =>
      validateLbConfig({
        ...base,
        listeners: [listener("a", 1000, ["127.0.0.2:1"]), listener("b", 1000, ["127.0.0.2:2"])],
      }),
    /already used by another listener/,
  );
  assert.throws(() => validateLbConfig({ ...base, listeners: [listener("a", 1000, [])] }), /no backends/);
  assert.throws(() => validateLbConfig({ ...base, listeners: [] }), /no listeners/);
  const tuned = applyTuning({ ...base, listeners: [listener("a", 1000, ["127.0.0.2:1"])] }, { maxConnections: "5" });
  assert.equal(tuned.listeners[0]?.maxConnections, 5);
});
