import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, test } from "node:test";
import { startBackends } from "../../peers/tcp-backend.js";
import { makeCertificates } from "../../peers/tls-certs.js";
import { destroyClients, freePort, greeting, waitFor } from "./helpers.js";

afterEach(destroyClients);

interface Cli {
  child: ChildProcess;
  stderr(): string;
  exit: Promise<number | null>;
}

function airstrap(args: string[], nodeOptions: string[] = []): Cli {
  const child = spawn(process.execPath, [...nodeOptions, "--import", "tsx", "src/cli/main.ts", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1" },
  });
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const exit = once(child, "exit").then(([code]) => code as number | null);
  return { child, stderr: () => stderr, exit };
}

test("airstrap lb --listen --backend: forwards, serves /healthz, stops cleanly on SIGTERM", async (t) => {
  const [backend] = await startBackends([{ name: "a", address: "127.0.0.2" }]);
  t.after(() => backend!.kill());
  const [port, adminPort] = [await freePort(), await freePort()];
  const cli = airstrap([
    "lb",
    "--listen",
    `127.0.0.1:${port}`,
    "--backend",
    backend!.endpoint,
    "--interval",
    "200ms",
    "--admin",
    `127.0.0.1:${adminPort}`,
  ]);
  t.after(() => cli.child.kill("SIGKILL"));
  await waitFor(() => /is up/.test(cli.stderr()), "the backend to be checked up", 15_000);
  assert.equal(await greeting(`127.0.0.1:${port}`), "a");
  const health = await fetch(`http://127.0.0.1:${adminPort}/healthz`);
  assert.equal(health.status, 200);
  cli.child.kill("SIGTERM");
  assert.equal(await cli.exit, 0);
  assert.match(cli.stderr(), /load balancer stopped/);
});

test("on a Node without the internal TCP bindings the balancer moves bytes through net.Socket, and says so", async (t) => {
  const [backend] = await startBackends([{ name: "a", address: "127.0.0.2" }]);
  t.after(() => backend!.kill());
  const port = await freePort();
  // A runtime where process.binding() is gone (as Node plans, DEP0111): the only way to reach
  // that case on this Node, so it is made by replacing the door before airstrap starts.
  const withoutBindings = 'data:text/javascript,process.binding=()=>{throw new Error("process.binding is gone")}';
  const cli = airstrap(
    ["lb", "--listen", `127.0.0.1:${port}`, "--backend", backend!.endpoint, "--interval", "200ms"],
    ["--import", withoutBindings],
  );
  t.after(() => cli.child.kill("SIGKILL"));
  await waitFor(() => /is up/.test(cli.stderr()), "the backend to be checked up", 15_000);
  assert.equal(await greeting(`127.0.0.1:${port}`), "a");
  assert.equal(await greeting(`127.0.0.1:${port}`), "a");
  const told = cli.stderr().match(/moves bytes through net\.Socket[^\n]*process\.binding is gone/g) ?? [];
  assert.equal(told.length, 1, cli.stderr());
  cli.child.kill("SIGTERM");
  assert.equal(await cli.exit, 0);
});

test("airstrap lb -f cluster.yaml --node: the plan's api and join listeners with HTTPS checks", async (t) => {
  const certs = makeCertificates(["127.0.0.2", "127.0.0.3"]);
  t.after(() => certs.remove());
  const [apiBackendPort, joinBackendPort] = [await freePort(), await freePort()];
  const backends = await startBackends([
    {
      name: "s1-api",
      address: "127.0.0.2",
      port: apiBackendPort,
      mode: "https",
      cert: certs.certFile,
      key: certs.keyFile,
    },
    {
      name: "s2-api",
      address: "127.0.0.3",
      port: apiBackendPort,
      mode: "https",
      cert: certs.certFile,
      key: certs.keyFile,
    },
    {
      name: "s1-join",
      address: "127.0.0.2",
      port: joinBackendPort,
      mode: "https",
      cert: certs.certFile,
      key: certs.keyFile,
    },
  ]);
  t.after(() => Promise.all(backends.map((b) => b.kill())));
  const [apiPort, joinPort] = [await freePort(), await freePort()];
  const dir = mkdtempSync(join(tmpdir(), "airstrap-lb-cli-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const manifest = join(dir, "cluster.yaml");
  const writeManifest = (servers: string[]) =>
    writeFileSync(
      manifest,
      [
        "apiVersion: airstrap.io/v1alpha1",
        "kind: Cluster",
        "metadata: { name: lab }",
        "spec:",
        "  domain: lab.lan",
        "  distro: { name: rke2, version: v1.31.4+rke2r1 }",
        "  hosts:",
        ...servers.map(
          (name) => `    - { name: ${name}, address: 127.0.0.${Number(name.slice(1)) + 1}, role: server }`,
        ),
        '  dns: { upstreams: ["127.0.0.53"] }',
        `  loadBalancer: { apiPort: ${apiPort}, joinPort: ${joinPort}, apiBackendPort: ${apiBackendPort}, joinBackendPort: ${joinBackendPort} }`,
        "",
      ].join("\n"),
    );
  writeManifest(["s1", "s2", "s3"]);
  const cli = airstrap(["lb", "-f", manifest, "--node", "s3", "--listen-address", "127.0.0.1", "--interval", "200ms"]);
  t.after(() => cli.child.kill("SIGKILL"));
  await waitFor(() => (cli.stderr().match(/ is up/g) ?? []).length >= 3, "three backends up", 15_000);
  assert.match(cli.stderr(), /api: backend s3 \(127\.0\.0\.4:\d+\) is down/);
  assert.match(
    cli.stderr(),
    /api: listening on 127\.0\.0\.1:\d+ → 127\.0\.0\.2:\d+, 127\.0\.0\.3:\d+, 127\.0\.0\.4:\d+/,
  );
  assert.match(cli.stderr(), /join: listening on/);
  const who = (port: number) =>
    new Promise<string>((resolve, reject) => {
      https
        .get(
          {
            host: "127.0.0.1",
            port,
            path: "/who",
            ca: readFileSync(certs.caFile),
            servername: "edge-cluster.edge.lan",
            agent: false,
          },
          (response) => {
            let body = "";
            response.setEncoding("utf8").on("data", (chunk: string) => {
              body += chunk;
            });
            response.on("end", () => resolve(body.trim()));
          },
        )
        .on("error", reject);
    });
  const apiServed = new Set([await who(apiPort), await who(apiPort), await who(apiPort), await who(apiPort)]);
  assert.deepEqual(apiServed, new Set(["s1-api", "s2-api"]), "s3's API is down (nothing listens), so never chosen");
  assert.equal(await who(joinPort), "s1-join");
  // SIGHUP re-reads the manifest: s2 leaves the listeners, established connections aside.
  writeManifest(["s1", "s3"]);
  cli.child.kill("SIGHUP");
  await waitFor(() => /reloaded: 2 listener/.test(cli.stderr()), "the reload", 15_000);
  assert.match(cli.stderr(), /api: backend s2 \(127\.0\.0\.3:\d+\) removed/);
  for (let i = 0; i < 3; i++) assert.equal(await who(apiPort), "s1-api");
  cli.child.kill("SIGINT");
  assert.equal(await cli.exit, 0);
});

test("airstrap lb with bad input: a clear error and a hint, no stack trace", async () => {
  const bad = airstrap(["lb", "--listen", "127.0.0.1:99999", "--backend", "127.0.0.2:80"]);
  assert.equal(await bad.exit, 1);
  assert.match(bad.stderr(), /error: --listen: port 99999 is out of range/);
  assert.doesNotMatch(bad.stderr(), /at .*\.ts:\d+/);
  const missing = airstrap(["lb"]);
  assert.equal(await missing.exit, 2);
  assert.match(missing.stderr(), /--node NAME/);
  const unknown = airstrap(["lb", "-f", "examples/rke2-ha.yaml", "--node", "nope"]);
  assert.equal(await unknown.exit, 1);
  assert.match(unknown.stderr(), /node "nope" is not a host of cluster edge/);
});
