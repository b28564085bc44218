import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { silentEvents } from "../../../src/events.js";
import { listenerWithDefaults } from "../../../src/services/lb/config.js";
import { KeptCheckConnection, probeBackend } from "../../../src/services/lb/probe.js";
import { startLoadBalancer } from "../../../src/services/lb/service.js";
import { makeCertificates } from "../../peers/tls-certs.js";
import { waitFor } from "./helpers.js";

/** An HTTPS server answering /readyz with a status that can change, counting TLS handshakes and requests. */
async function readyzServer(t: { after(fn: () => unknown): void }, address: string) {
  const certs = makeCertificates([address]);
  t.after(() => certs.remove());
  let status = 200;
  const counts = { handshakes: 0, requests: 0 };
  const server = https.createServer(
    { cert: readFileSync(certs.certFile), key: readFileSync(certs.keyFile) },
    (req, res) => {
      counts.requests += 1;
      res.statusCode = req.url === "/readyz" ? status : 404;
      res.end("ok");
    },
  );
  server.on("secureConnection", () => {
    counts.handshakes += 1;
  });
  await new Promise<void>((resolve) => server.listen(0, address, resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return {
    target: { address, port: (server.address() as AddressInfo).port },
    counts,
    setStatus: (next: number) => {
      status = next;
    },
    dropConnections: () => server.closeAllConnections(),
  };
}

const check = {
  intervalMs: 100,
  timeoutMs: 90,
  rise: 2,
  fall: 2,
  http: { path: "/readyz", expectStatus: [200], tls: true },
};

test("HTTPS checks of one backend share one kept connection; a failed check starts afresh", async (t) => {
  const server = await readyzServer(t, "127.0.0.61");
  const kept = new KeptCheckConnection();
  t.after(() => kept.drop());
  for (let i = 0; i < 5; i++) assert.equal((await probeBackend(server.target, check, kept)).ok, true);
  assert.deepEqual(server.counts, { handshakes: 1, requests: 5 });

  server.setStatus(503);
  const failed = await probeBackend(server.target, check, kept);
  assert.equal(failed.ok, false);
  assert.match(failed.reason ?? "", /\/readyz answered 503, expected 200/);
  server.setStatus(200);
  assert.equal((await probeBackend(server.target, check, kept)).ok, true);
  assert.equal(server.counts.handshakes, 2, "the failed check dropped the connection");

  // The server closing the connection between checks costs nothing but a new handshake.
  server.dropConnections();
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal((await probeBackend(server.target, check, kept)).ok, true);
  assert.equal(server.counts.handshakes, 3);

  // Without a kept connection every check is a connection of its own.
  const before = server.counts.handshakes;
  for (let i = 0; i < 3; i++) assert.equal((await probeBackend(server.target, check)).ok, true);
  assert.equal(server.counts.handshakes, before + 3);
});

test("a kept check connection is renewed every REFRESH_EVERY checks, so new connections are still tried", async (t) => {
  const server = await readyzServer(t, "127.0.0.62");
  const kept = new KeptCheckConnection();
  t.after(() => kept.drop());
  const checks = KeptCheckConnection.REFRESH_EVERY * 2 + 1;
  for (let i = 0; i < checks; i++) assert.equal((await probeBackend(server.target, check, kept)).ok, true);
  assert.equal(server.counts.handshakes, 3);
});

test("the load balancer checks each backend over one connection, and goes down and up on /readyz", async (t) => {
  const server = await readyzServer(t, "127.0.0.63");
  const lb = await startLoadBalancer(
    {
      listeners: [
        listenerWithDefaults({
          name: "api",
          address: "127.0.0.64",
          port: 0,
          backends: [{ name: "server-1", ...server.target }],
          check,
        }),
      ],
      drainTimeoutMs: 1000,
    },
    silentEvents,
  );
  t.after(() => lb.close());
  const backend = () => lb.health().listeners[0]!.backends[0]!;
  await waitFor(() => backend().state === "up", "server-1 up");
  await waitFor(() => server.counts.requests >= 8, "eight checks");
  assert.equal(server.counts.handshakes, 1);
  server.setStatus(503);
  await waitFor(() => backend().state === "down", "server-1 down after /readyz fails");
  server.setStatus(200);
  await waitFor(() => backend().state === "up", "server-1 up again");
});
