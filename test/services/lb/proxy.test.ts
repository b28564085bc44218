import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import https from "node:https";
import net from "node:net";
import { afterEach } from "node:test";
import { silentEvents } from "../../../src/events.js";
import { startLoadBalancer } from "../../../src/services/lb/service.js";
import { startBackends } from "../../peers/tcp-backend.js";
import { makeCertificates } from "../../peers/tls-certs.js";
import {
  destroyClients,
  greeting,
  lbConfigFor,
  openClient,
  sleep,
  split,
  testBothPaths,
  waitFor,
  withTimeout,
} from "./helpers.js";

afterEach(destroyClients);

testBothPaths("forwards both ways and spreads held connections over the backends (least connections)", async (t) => {
  const backends = await startBackends(["a", "b", "c"].map((name, i) => ({ name, address: `127.0.0.${i + 2}` })));
  t.after(() => Promise.all(backends.map((b) => b.kill())));
  const lb = await startLoadBalancer(lbConfigFor(backends), silentEvents);
  t.after(() => lb.close());
  await waitFor(
    () => lb.health().healthy && lb.health().listeners[0]!.backends.every((b) => b.state === "up"),
    "all up",
  );
  const endpoint = lb.listenerAddress("test");
  const clients = [await openClient(endpoint), await openClient(endpoint), await openClient(endpoint)];
  const names = await Promise.all(clients.map(async (c) => (await c.lines(1))[0]));
  assert.deepEqual(new Set(names), new Set(["a", "b", "c"]));
  clients[0]!.socket.write("ping 1\n");
  assert.deepEqual(await clients[0]!.lines(2), [names[0], "ping 1"]);
  for (const c of clients) c.socket.destroy();
});

testBothPaths(
  "half-close from the client: the backend sees FIN, can still answer, then the client sees FIN",
  async (t) => {
    const [backend] = await startBackends([{ name: "a", address: "127.0.0.2" }]);
    t.after(() => backend!.kill());
    const lb = await startLoadBalancer(lbConfigFor([backend!]), silentEvents);
    t.after(() => lb.close());
    const client = await openClient(lb.listenerAddress("test"));
    await client.lines(1);
    const clientEnd = backend!.next("client-end", (report) => report.received !== 0);
    client.socket.end("abc\n");
    assert.equal((await clientEnd).received, 4);
    await withTimeout(client.ended, 5000, "FIN from the backend");
    assert.equal(client.received(), "a\nabc\nbye 4\n");
  },
);

testBothPaths("half-close from the backend: the client sees FIN and can still send until it closes too", async (t) => {
  const [backend] = await startBackends([{ name: "a", address: "127.0.0.2" }]);
  t.after(() => backend!.kill());
  const lb = await startLoadBalancer(lbConfigFor([backend!]), silentEvents);
  t.after(() => lb.close());
  const client = await openClient(lb.listenerAddress("test"));
  await client.lines(1);
  client.socket.write("shut\n");
  await withTimeout(client.ended, 5000, "FIN from the backend");
  assert.equal(client.socket.destroyed, false);
  const clientEnd = backend!.next("client-end", (report) => report.received !== 0);
  client.socket.end("written after the backend's FIN\n");
  assert.equal((await clientEnd).received, "shut\n".length + "written after the backend's FIN\n".length);
  await withTimeout(client.closed, 5000, "close");
});

testBothPaths(
  "TLS passes through untouched: the client verifies the backend's own certificate; HTTPS checks drop a 503 backend",
  async (t) => {
    const certs = makeCertificates(["127.0.0.2", "127.0.0.3"]);
    t.after(() => certs.remove());
    const backends = await startBackends(
      ["server-1", "server-2"].map((name, i) => ({
        name,
        address: `127.0.0.${i + 2}`,
        mode: "https" as const,
        cert: certs.certFile,
        key: certs.keyFile,
      })),
    );
    t.after(() => Promise.all(backends.map((b) => b.kill())));
    const lb = await startLoadBalancer(
      lbConfigFor(backends, {
        check: {
          intervalMs: 200,
          timeoutMs: 180,
          rise: 2,
          fall: 2,
          http: { path: "/readyz", expectStatus: [200], tls: true },
        },
      }),
      silentEvents,
    );
    t.after(() => lb.close());
    await waitFor(() => lb.health().listeners[0]!.backends.every((b) => b.state === "up"), "both up");
    const get = () =>
      new Promise<string>((resolve, reject) => {
        const request = https.get(
          {
            ...split(lb.listenerAddress("test")),
            path: "/who",
            servername: "edge-cluster.edge.lan",
            ca: readFileSync(certs.caFile),
            agent: false,
          },
          (response) => {
            let body = "";
            response.setEncoding("utf8");
            response.on("data", (chunk: string) => {
              body += chunk;
            });
            response.on("end", () => resolve(body.trim()));
          },
        );
        request.on("error", reject);
      });
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) seen.add(await get());
    assert.deepEqual(seen, new Set(["server-1", "server-2"]));

    backends[0]!.setReadyzStatus(503);
    await waitFor(() => lb.health().listeners[0]!.backends[0]!.state === "down", "server-1 down after /readyz 503");
    for (let i = 0; i < 4; i++) assert.equal(await get(), "server-2");
  },
);

testBothPaths(
  "a slow reader with a fast writer: memory stays bounded because backpressure reaches the backend",
  async (t) => {
    const [backend] = await startBackends([{ name: "a", address: "127.0.0.2" }]);
    t.after(() => backend!.kill());
    const lb = await startLoadBalancer(lbConfigFor([backend!]), silentEvents);
    t.after(() => lb.close());
    const client = await openClient(lb.listenerAddress("test"));
    await client.lines(1);
    const heapBefore = process.memoryUsage().heapUsed + process.memoryUsage().external;
    client.socket.pause();
    client.socket.write("flood\n");
    await sleep(1500);
    const early = await backend!.flooded();
    await sleep(1500);
    const late = await backend!.flooded();
    const heapAfter = process.memoryUsage().heapUsed + process.memoryUsage().external;
    // Only socket buffers hold data: the kernel's (a few MiB per hop) and the proxy's high-water marks.
    assert.ok(late < 48 * 1024 * 1024, `backend pushed ${late} bytes into a connection nobody reads`);
    assert.ok(late - early < 1024 * 1024, `still flowing after 1.5 s: ${early} → ${late}`);
    assert.ok(heapAfter - heapBefore < 32 * 1024 * 1024, `proxy memory grew by ${heapAfter - heapBefore} bytes`);
    // The stream is intact once the reader catches up.
    client.socket.resume();
    await sleep(200);
    assert.ok(client.received().length > late / 2);
    client.socket.destroy();
  },
);

/**
 * A balancer over two backends, "hung" and "ok", once both are up; then "hung" is frozen and its
 * accept queue filled, so connects to it hang in SYN retransmits until the connect timeout.
 */
async function balancerWithHungFirstBackend(t: { after(fn: () => unknown): void }) {
  const backends = await startBackends([
    { name: "hung", address: "127.0.0.2", backlog: 1 },
    { name: "ok", address: "127.0.0.3" },
  ]);
  t.after(async () => {
    backends[0]!.thaw();
    await Promise.all(backends.map((b) => b.kill()));
  });
  const lb = await startLoadBalancer(
    // Checks far apart so only the proxy's own connect attempts judge the hung backend.
    lbConfigFor(backends, { connectTimeoutMs: 300, check: { intervalMs: 60_000, timeoutMs: 1000, rise: 1, fall: 3 } }),
    silentEvents,
  );
  t.after(() => lb.close());
  await waitFor(() => lb.health().listeners[0]!.backends.every((b) => b.state === "up"), "both up");
  backends[0]!.freeze();
  const fillers: net.Socket[] = [];
  t.after(() => {
    for (const socket of fillers) socket.destroy();
  });
  for (let i = 0; i < 2; i++) {
    const socket = net.connect({ host: "127.0.0.2", port: backends[0]!.port });
    socket.on("error", () => {});
    fillers.push(socket);
    await new Promise((resolve) => socket.once("connect", resolve));
  }
  return { backends, lb };
}

testBothPaths("a backend that does not accept in time is skipped: the client is served by the next one", async (t) => {
  const { lb } = await balancerWithHungFirstBackend(t);
  const served = [];
  for (let i = 0; i < 4; i++) served.push(await greeting(lb.listenerAddress("test"), 5000));
  assert.deepEqual(served, ["ok", "ok", "ok", "ok"]);
  assert.match(lb.metrics(), /airstrap_lb_backend_connect_failures_total\{[^}]*backend="hung"[^}]*\} [1-9]/);
});

testBothPaths(
  "what a client sends before any backend has accepted (data and FIN) is held and delivered whole",
  async (t) => {
    const { lb } = await balancerWithHungFirstBackend(t);
    // More than the proxy holds before a backend accepts (64 KiB): the rest waits in the kernel.
    // Hex never contains the backend's commands ("shut", "flood", "stop").
    const payload = randomBytes(100_000).toString("hex");
    // Connections take turns at the hung backend first: at least one waits out its connect timeout.
    for (let i = 0; i < 2; i++) {
      const client = await openClient(lb.listenerAddress("test"));
      client.socket.end(payload);
      await withTimeout(client.closed, 10_000, `connection ${i}: the whole answer`);
      assert.equal(client.received(), `ok\n${payload}bye ${payload.length}\n`);
    }
    assert.match(lb.metrics(), /airstrap_lb_backend_connect_failures_total\{[^}]*backend="hung"[^}]*\} [1-9]/);
  },
);

testBothPaths("idle connections are closed after the idle timeout; busy ones are not", async (t) => {
  const [backend] = await startBackends([{ name: "a", address: "127.0.0.2" }]);
  t.after(() => backend!.kill());
  const lb = await startLoadBalancer(lbConfigFor([backend!], { idleTimeoutMs: 400 }), silentEvents);
  t.after(() => lb.close());
  const idle = await openClient(lb.listenerAddress("test"));
  const busy = await openClient(lb.listenerAddress("test"));
  await Promise.all([idle.lines(1), busy.lines(1)]);
  const ticker = setInterval(() => busy.socket.write("tick\n"), 100);
  t.after(() => clearInterval(ticker));
  await withTimeout(idle.ended, 5000, "idle close");
  assert.equal(busy.socket.destroyed, false);
  clearInterval(ticker);
  busy.socket.destroy();
  assert.match(lb.metrics(), /airstrap_lb_listener_idle_closed_total\{[^}]*\} [1-9]/);
});

testBothPaths("connections beyond the maximum are closed at once; capacity returns when one ends", async (t) => {
  const [backend] = await startBackends([{ name: "a", address: "127.0.0.2" }]);
  t.after(() => backend!.kill());
  const lb = await startLoadBalancer(lbConfigFor([backend!], { maxConnections: 2 }), silentEvents);
  t.after(() => lb.close());
  const endpoint = lb.listenerAddress("test");
  const held = [await openClient(endpoint), await openClient(endpoint)];
  await Promise.all(held.map((c) => c.lines(1)));
  await assert.rejects(greeting(endpoint), /closed/);
  held[0]!.socket.destroy();
  await waitFor(() => lb.health().listeners[0]!.backends[0]!.activeConnections === 1, "one connection left");
  assert.equal(await greeting(endpoint), "a");
  held[1]!.socket.destroy();
  assert.match(lb.metrics(), /airstrap_lb_listener_rejected_total\{[^}]*reason="max_connections"\} 1/);
});

testBothPaths(
  "admin endpoint: /healthz is 200 while a backend is up and 503 when none is; /metrics counts bytes",
  async (t) => {
    const [backend] = await startBackends([{ name: "a", address: "127.0.0.2" }]);
    t.after(() => backend!.kill());
    const lb = await startLoadBalancer(
      lbConfigFor(
        [backend!],
        { check: { intervalMs: 100, timeoutMs: 90, rise: 1, fall: 1 } },
        { admin: { address: "127.0.0.1", port: 0 } },
      ),
      silentEvents,
    );
    t.after(() => lb.close());
    const admin = lb.addresses.at(-1)!;
    await waitFor(() => lb.health().healthy, "healthy");
    const healthz = await fetch(`http://${admin}/healthz`);
    assert.equal(healthz.status, 200);
    const report = (await healthz.json()) as { listeners: Array<{ backends: Array<{ state: string }> }> };
    assert.equal(report.listeners[0]?.backends[0]?.state, "up");
    const client = await openClient(lb.listenerAddress("test"));
    await client.lines(1);
    client.socket.end("12345\n");
    await withTimeout(client.closed, 5000, "close");
    await waitFor(() => /sent_bytes_total\{[^}]*\} 6\n/.test(lb.metrics()), "bytes counted");
    const metrics = await (await fetch(`http://${admin}/metrics`)).text();
    assert.match(metrics, /# TYPE airstrap_lb_backend_sent_bytes_total counter/);
    assert.match(
      metrics,
      /airstrap_lb_backend_connections_total\{listener="test",backend="a",address="127\.0\.0\.2:\d+",tier="primary"\} 1/,
    );
    assert.match(metrics, /airstrap_lb_backend_check_latency_seconds\{[^}]*\} \d+\.\d+/);
    await backend!.kill();
    await waitFor(() => !lb.health().healthy, "unhealthy");
    assert.equal((await fetch(`http://${admin}/healthz`)).status, 503);
  },
);

testBothPaths("IPv6: listens on and forwards to ::1", async (t) => {
  const [backend] = await startBackends([{ name: "v6", address: "::1" }]);
  t.after(() => backend!.kill());
  const config = lbConfigFor([backend!]);
  config.listeners[0]!.address = "::1";
  const lb = await startLoadBalancer(config, silentEvents);
  t.after(() => lb.close());
  assert.match(lb.listenerAddress("test"), /^\[::1\]:\d+$/);
  assert.equal(await greeting(lb.listenerAddress("test")), "v6");
  await waitFor(() => lb.health().healthy, "checked up");
  assert.match(lb.metrics(), /address="\[::1\]:\d+"/);
});
