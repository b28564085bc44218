import assert from "node:assert/strict";
import { afterEach } from "node:test";
import { silentEvents } from "../../../src/events.js";
import { startLoadBalancer } from "../../../src/services/lb/service.js";
import { startBackends } from "../../peers/tcp-backend.js";
import {
  destroyClients,
  greeting,
  lbConfigFor,
  openClient,
  recordingEvents,
  sleep,
  testBothPaths,
  waitFor,
  withTimeout,
} from "./helpers.js";

afterEach(destroyClients);

const quickChecks = { intervalMs: 100, timeoutMs: 90, rise: 1, fall: 1 };

testBothPaths(
  "reload keeps established connections: new backends and settings apply to new connections only",
  async (t) => {
    const backends = await startBackends(["a", "b"].map((name, i) => ({ name, address: `127.0.0.${i + 2}` })));
    t.after(() => Promise.all(backends.map((b) => b.kill())));
    const lb = await startLoadBalancer(lbConfigFor([backends[0]!], { check: quickChecks }), silentEvents);
    t.after(() => lb.close());
    const endpoint = lb.listenerAddress("test");
    const client = await openClient(endpoint);
    assert.deepEqual(await client.lines(1), ["a"]);

    await lb.reload(
      lbConfigFor(backends, { check: { ...quickChecks, rise: 2 }, idleTimeoutMs: 60_000, maxConnections: 50 }),
    );
    assert.equal(lb.listenerAddress("test"), endpoint, "same socket, not re-bound");
    client.socket.write("still here\n");
    assert.deepEqual(await client.lines(2), ["a", "still here"]);
    await waitFor(() => lb.health().listeners[0]!.backends.every((b) => b.state === "up"), "b checked up");
    const served = new Set<string>();
    for (let i = 0; i < 4; i++) served.add(await greeting(endpoint));
    assert.ok(served.has("b"), "the added backend takes new connections");
    client.socket.end();
    await withTimeout(client.ended, 3000, "clean end");
  },
);

testBothPaths(
  "a backend removed by reload: its connections drain for the drain timeout, then close; new ones avoid it",
  async (t) => {
    const backends = await startBackends(["a", "b"].map((name, i) => ({ name, address: `127.0.0.${i + 2}` })));
    t.after(() => Promise.all(backends.map((b) => b.kill())));
    const events = recordingEvents();
    const lb = await startLoadBalancer(
      lbConfigFor([backends[0]!], { check: quickChecks }, { drainTimeoutMs: 600 }),
      events,
    );
    t.after(() => lb.close());
    const client = await openClient(lb.listenerAddress("test"));
    await client.lines(1);
    await lb.reload(lbConfigFor([backends[1]!], { check: quickChecks }, { drainTimeoutMs: 600 }));
    assert.match(lb.metrics(), /airstrap_lb_backend_active_connections\{[^}]*backend="a"[^}]*tier="removed"\} 1/);
    client.socket.write("during drain\n");
    assert.deepEqual(await client.lines(2), ["a", "during drain"]);
    assert.equal(await greeting(lb.listenerAddress("test")), "b");
    await withTimeout(client.ended, 3000, "drain deadline");
    assert.ok(events.log.some((e) => e.kind === "lb.backend.removed"));
  },
);

testBothPaths(
  "a listener moved to another port: the old one stops accepting and drains, the new one serves",
  async (t) => {
    const [backend] = await startBackends([{ name: "a", address: "127.0.0.2" }]);
    t.after(() => backend!.kill());
    const lb = await startLoadBalancer(lbConfigFor([backend!]), silentEvents);
    t.after(() => lb.close());
    const oldEndpoint = lb.listenerAddress("test");
    const client = await openClient(oldEndpoint);
    await client.lines(1);
    const moved = lbConfigFor([backend!]);
    moved.listeners[0]!.address = "127.0.0.5";
    await lb.reload(moved);
    const newEndpoint = lb.listenerAddress("test");
    assert.notEqual(newEndpoint, oldEndpoint);
    assert.equal(await greeting(newEndpoint), "a");
    await assert.rejects(openClient(oldEndpoint), /ECONNREFUSED/);
    client.socket.write("old connection lives on\n");
    assert.deepEqual(await client.lines(2), ["a", "old connection lives on"]);
  },
);

testBothPaths(
  "close drains: a connection that finishes in time completes, one that does not is cut at the deadline",
  async (t) => {
    const [backend] = await startBackends([{ name: "a", address: "127.0.0.2" }]);
    t.after(() => backend!.kill());
    const lb = await startLoadBalancer(lbConfigFor([backend!], {}, { drainTimeoutMs: 800 }), silentEvents);
    const finishing = await openClient(lb.listenerAddress("test"));
    const lingering = await openClient(lb.listenerAddress("test"));
    await Promise.all([finishing.lines(1), lingering.lines(1)]);
    const closing = lb.close();
    await assert.rejects(openClient(lb.listenerAddress("test")), /ECONNREFUSED/);
    await sleep(100);
    finishing.socket.end("last words\n");
    await withTimeout(finishing.ended, 2000, "the finishing connection's answer");
    assert.equal(finishing.received(), "a\nlast words\nbye 11\n");
    assert.equal(lingering.socket.readableEnded, false, "still open before the deadline");
    await withTimeout(closing, 3000, "close");
    await withTimeout(lingering.ended, 1000, "cut at the deadline");
  },
);

testBothPaths(
  "discovered backends take over; the manifest's stay as standbys and serve when the discovered ones die",
  async (t) => {
    const backends = await startBackends(["a", "b", "c"].map((name, i) => ({ name, address: `127.0.0.${i + 2}` })));
    t.after(() => Promise.all(backends.map((b) => b.kill())));
    const [a, b, c] = backends as [(typeof backends)[0], (typeof backends)[0], (typeof backends)[0]];
    const lb = await startLoadBalancer(lbConfigFor([a, b], { check: quickChecks, discovered: [c] }), silentEvents);
    t.after(() => lb.close());
    await waitFor(() => lb.health().listeners[0]!.backends.every((x) => x.state === "up"), "all up");
    assert.deepEqual(
      lb.health().listeners[0]!.backends.map((x) => `${x.name}:${x.tier}`),
      ["c:primary", "a:standby", "b:standby"],
    );
    for (let i = 0; i < 4; i++) assert.equal(await greeting(lb.listenerAddress("test")), "c");
    await c.kill();
    const served = new Set<string>();
    for (let i = 0; i < 6; i++) served.add(await greeting(lb.listenerAddress("test")));
    assert.deepEqual(served, new Set(["a", "b"]));
    // Discovery coming back with an empty list falls back to the manifest's backends as primaries.
    await lb.reload(lbConfigFor([a, b], { check: quickChecks, discovered: [] }));
    assert.deepEqual(
      lb.health().listeners[0]!.backends.map((x) => `${x.name}:${x.tier}`),
      ["a:primary", "b:primary"],
    );
  },
);
