import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { afterEach } from "node:test";
import tls from "node:tls";
import { silentEvents } from "../../../src/events.js";
import { startLoadBalancer } from "../../../src/services/lb/service.js";
import { startBackends } from "../../peers/tcp-backend.js";
import { makeCertificates } from "../../peers/tls-certs.js";
import {
  destroyClients,
  greeting,
  lbConfigFor,
  openClient,
  recordingEvents,
  sleep,
  split,
  testBothPaths,
  waitFor,
  withTimeout,
} from "./helpers.js";

afterEach(destroyClients);

interface Attempt {
  startedAt: number;
  endedAt: number;
  ok: boolean;
  served?: string;
}

/** `workers` clients, each connecting (and reading the greeting) back to back until `durationMs` is over. */
async function connectContinuously(endpoint: string, workers: number, durationMs: number): Promise<Attempt[]> {
  const attempts: Attempt[] = [];
  const stopAt = performance.now() + durationMs;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (performance.now() < stopAt) {
        const startedAt = performance.now();
        try {
          const served = await greeting(endpoint, 4000);
          attempts.push({ startedAt, endedAt: performance.now(), ok: true, served });
        } catch {
          attempts.push({ startedAt, endedAt: performance.now(), ok: false });
          await sleep(5);
        }
      }
    }),
  );
  return attempts;
}

const failureWindowMs = (attempts: Attempt[]) => {
  const failed = attempts.filter((a) => !a.ok);
  if (failed.length === 0) return 0;
  return Math.max(...failed.map((a) => a.endedAt)) - Math.min(...failed.map((a) => a.startedAt));
};

testBothPaths(
  "killing a backend under continuous connections: failed-connection window ≤ 1 s, nothing hangs, its open connections close",
  async (t) => {
    const backends = await startBackends(["a", "b", "c"].map((name, i) => ({ name, address: `127.0.0.${i + 2}` })));
    t.after(() => Promise.all(backends.map((b) => b.kill())));
    const lb = await startLoadBalancer(lbConfigFor(backends), silentEvents);
    t.after(() => lb.close());
    await waitFor(() => lb.health().listeners[0]!.backends.every((b) => b.state === "up"), "all up");
    const endpoint = lb.listenerAddress("test");
    const held = await Promise.all([openClient(endpoint), openClient(endpoint), openClient(endpoint)]);
    const heldNames = await Promise.all(held.map(async (c) => (await c.lines(1))[0]));
    const onVictim = held[heldNames.indexOf("b")]!;

    const load = connectContinuously(endpoint, 4, 3000);
    await sleep(1000);
    const killedAt = performance.now();
    await backends[1]!.kill();
    const attempts = await load;

    const window = failureWindowMs(attempts);
    const longest = Math.max(...attempts.map((a) => a.endedAt - a.startedAt));
    t.diagnostic(
      `${attempts.length} connections, ${attempts.filter((a) => !a.ok).length} failed, window ${window.toFixed(0)} ms, slowest ${longest.toFixed(0)} ms`,
    );
    assert.ok(attempts.length > 50, `too few attempts to judge: ${attempts.length}`);
    assert.ok(window <= 1000, `new connections failed for ${window.toFixed(0)} ms`);
    assert.ok(longest < 4000, "a connection hung");
    assert.ok(attempts.filter((a) => a.startedAt > killedAt + 50).every((a) => a.served !== "b"));
    await withTimeout(onVictim.ended, 2000, "the connection to the killed backend to end");
  },
);

testBothPaths(
  "a backend that fails its checks has its client connections closed, unless configured to keep them",
  async (t) => {
    const certs = makeCertificates(["127.0.0.2", "127.0.0.3"]);
    t.after(() => certs.remove());
    for (const closeOnBackendDown of [true, false]) {
      const backends = await startBackends(
        ["server-1", "server-2"].map((name, i) => ({
          name,
          address: `127.0.0.${i + 2}`,
          mode: "https" as const,
          cert: certs.certFile,
          key: certs.keyFile,
        })),
      );
      const events = recordingEvents();
      const lb = await startLoadBalancer(
        lbConfigFor(backends, {
          closeOnBackendDown,
          check: {
            intervalMs: 150,
            timeoutMs: 140,
            rise: 2,
            fall: 2,
            http: { path: "/readyz", expectStatus: [200], tls: true },
          },
        }),
        events,
      );
      try {
        await waitFor(() => lb.health().listeners[0]!.backends.every((b) => b.state === "up"), "both up");
        const sessions = await Promise.all(
          [0, 1, 2, 3].map(
            () =>
              new Promise<tls.TLSSocket>((resolve, reject) => {
                const socket = tls.connect({
                  ...split(lb.listenerAddress("test")),
                  ca: readFileSync(certs.caFile),
                  servername: "edge-cluster.edge.lan",
                });
                socket.once("secureConnect", () => resolve(socket));
                socket.once("error", reject);
              }),
          ),
        );
        assert.equal(lb.health().listeners[0]!.backends[0]!.activeConnections, 2, "least connections: two on each");
        const closed = sessions.map((s) => new Promise<void>((resolve) => s.once("close", () => resolve())));
        let closedCount = 0;
        for (const c of closed) void c.then(() => closedCount++);
        backends[0]!.setReadyzStatus(503);
        await waitFor(() => lb.health().listeners[0]!.backends[0]!.state === "down", "server-1 down");
        const expected = lb.health().listeners[0]!.backends[0]!.activeConnections;
        if (closeOnBackendDown) {
          await waitFor(() => closedCount === 2, "the two sessions on server-1 to close");
          const down = events.log.find((e) => e.kind === "lb.backend.down");
          assert.equal(down?.detail?.closedConnections, 2);
        } else {
          await sleep(300);
          assert.equal(closedCount, 0);
          assert.equal(expected, 2);
        }
        for (const s of sessions) s.destroy();
      } finally {
        await lb.close();
        await Promise.all(backends.map((b) => b.kill()));
      }
    }
  },
);

testBothPaths(
  "a flapping backend: only connections cut by a crash fail, and each state change is logged once",
  async (t) => {
    const backends = await startBackends(["a", "b"].map((name, i) => ({ name, address: `127.0.0.${i + 2}` })));
    t.after(() => Promise.all(backends.map((b) => b.kill())));
    const events = recordingEvents();
    const lb = await startLoadBalancer(
      lbConfigFor(backends, { check: { intervalMs: 100, timeoutMs: 90, rise: 2, fall: 2 } }),
      events,
    );
    t.after(() => lb.close());
    await waitFor(() => lb.health().listeners[0]!.backends.every((b) => b.state === "up"), "both up");
    const load = connectContinuously(lb.listenerAddress("test"), 2, 4000);
    const kills: number[] = [];
    for (let cycle = 0; cycle < 5; cycle++) {
      await sleep(300);
      kills.push(performance.now());
      await backends[1]!.kill();
      await sleep(400);
      await backends[1]!.restart();
    }
    const attempts = await load;
    assert.ok(attempts.length > 50);
    // A connection already spliced to the backend when it crashes is lost (as with any proxy);
    // every other connection must be served, by retrying elsewhere if need be.
    const failed = attempts.filter((a) => !a.ok);
    for (const attempt of failed) {
      const cutByCrash = kills.some((k) => attempt.startedAt <= k + 20 && attempt.endedAt >= k - 20);
      assert.ok(cutByCrash, `a connection failed away from any crash (${attempt.startedAt.toFixed(0)} ms)`);
    }
    assert.ok(failed.length <= 2 * kills.length, `${failed.length} failures for ${kills.length} crashes`);
    const transitions = events.log
      .filter(
        (e) =>
          (e.kind === "lb.backend.up" || e.kind === "lb.backend.down") && e.detail?.backend === backends[1]!.endpoint,
      )
      .map((e) => e.kind);
    t.diagnostic(`b: ${transitions.join(" ")}`);
    assert.ok(transitions.length >= 3 && transitions.length <= 11, `transitions: ${transitions.length}`);
    transitions.forEach((kind, i) => {
      if (i > 0) assert.notEqual(kind, transitions[i - 1], "the same state was logged twice in a row");
    });
    assert.equal(transitions.filter((k) => k === "lb.backend.down").length <= 5, true);
  },
);

testBothPaths(
  "every backend down: connections fail fast instead of hanging; the first one back serves at once",
  async (t) => {
    const backends = await startBackends(["a", "b"].map((name, i) => ({ name, address: `127.0.0.${i + 2}` })));
    t.after(() => Promise.all(backends.map((b) => b.kill())));
    const events = recordingEvents();
    // Slow checks: the recovery below must not depend on a check noticing the backend first.
    const lb = await startLoadBalancer(
      lbConfigFor(backends, { check: { intervalMs: 200, timeoutMs: 180, rise: 2, fall: 1 } }),
      events,
    );
    t.after(() => lb.close());
    await waitFor(() => lb.health().healthy, "up");
    await Promise.all(backends.map((b) => b.kill()));
    await waitFor(() => lb.health().listeners[0]!.backends.every((b) => b.state === "down"), "all down");
    assert.equal(events.log.filter((e) => e.kind === "lb.listener.all-down").length, 1);
    for (let i = 0; i < 3; i++) {
      await assert.rejects(withTimeout(greeting(lb.listenerAddress("test")), 3000, "refusal"), /ended|closed/);
    }
    await sleep(500);
    assert.equal(events.log.filter((e) => e.kind === "lb.listener.all-down").length, 1, "logged once, not per check");
    await backends[0]!.restart();
    assert.equal(lb.health().listeners[0]!.backends[0]!.state, "down", "no check has seen it yet");
    assert.equal(await greeting(lb.listenerAddress("test")), "a");
    await waitFor(() => lb.health().healthy, "a up again");
    assert.equal(events.log.filter((e) => e.kind === "lb.listener.recovered").length, 1);
  },
);

testBothPaths(
  "passive checks: a backend that passes TCP checks but resets connections is taken out after `fall` resets",
  async (t) => {
    const backends = await startBackends([
      { name: "resetter", address: "127.0.0.2", mode: "reset" },
      { name: "good", address: "127.0.0.3" },
    ]);
    t.after(() => Promise.all(backends.map((b) => b.kill())));
    const events = recordingEvents();
    const lb = await startLoadBalancer(
      lbConfigFor(backends, { check: { intervalMs: 60_000, timeoutMs: 1000, rise: 2, fall: 2 } }),
      events,
    );
    t.after(() => lb.close());
    await waitFor(() => lb.health().listeners[0]!.backends.every((b) => b.state === "up"), "both pass the TCP check");
    const outcomes: string[] = [];
    for (let i = 0; i < 8; i++) {
      const client = await openClient(lb.listenerAddress("test"));
      client.socket.write("hello\n");
      outcomes.push(
        await client.lines(1).then(
          ([name]) => name!,
          () => "reset",
        ),
      );
      client.socket.destroy();
    }
    t.diagnostic(outcomes.join(" "));
    assert.equal(outcomes.filter((o) => o === "reset").length, 2, "exactly `fall` clients hit the resetting backend");
    assert.deepEqual(outcomes.slice(-4), ["good", "good", "good", "good"]);
    assert.equal(lb.health().listeners[0]!.backends[0]!.state, "down");
    assert.match(events.log.find((e) => e.kind === "lb.backend.down")?.message ?? "", /connection reset by/);
    assert.match(lb.metrics(), /airstrap_lb_backend_resets_total\{[^}]*backend="resetter"[^}]*\} 2/);
  },
);
