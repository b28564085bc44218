/**
 * The load balancer's memory under its default maxConnections (10,000), every connection having
 * moved a bulk burst and then gone idle. Runs airstrap lb as a child with its open-file limit
 * raised to the hard limit (it holds two sockets per connection); clients here, a sink backend in
 * its own process; loopback. Where the hard limit cannot hold 10,000 connections (two descriptors
 * each) the test opens as many as fit and says so.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import net from "node:net";
import { test } from "node:test";
import { LB_DEFAULTS } from "../../../src/services/lb/config.js";
import { DATA_PATH_ENV } from "../../../src/services/lb/proxy/data-path.js";
import { startBackend } from "../../peers/tcp-backend.js";
import { DATA_PATHS, freePort, waitFor } from "./helpers.js";

const HARD_FD_LIMIT = Number(spawnSync("bash", ["-c", "ulimit -Hn"], { encoding: "utf8" }).stdout.trim());
/** Descriptors the balancer process needs besides its connections (stdio, epoll, listeners, tsx). */
const SPARE_FDS = 100;
const CONNECTIONS = Math.min(
  LB_DEFAULTS.maxConnections,
  Number.isFinite(HARD_FD_LIMIT) ? Math.floor((HARD_FD_LIMIT - SPARE_FDS) / 2) : 0,
);
/** Enough for a bulk read on every connection (the old design then kept 256 KiB per direction for life). */
const BYTES_PER_CONNECTION = 128 * 1024;
const MiB = 1024 * 1024;
/** The bound: the bulk pool (64 MiB), 16 KiB per connection, 128 MiB for the runtime itself. */
const RSS_LIMIT = 64 * MiB + CONNECTIONS * 16 * 1024 + 128 * MiB;

function rssOf(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(match![1]) * 1024;
}

for (const path of DATA_PATHS) {
  test(`${LB_DEFAULTS.maxConnections} connections, each after a bulk burst, idle: the balancer's memory stays bounded [${path}]`, async (t) => {
    if (CONNECTIONS < LB_DEFAULTS.maxConnections / 2) {
      t.skip(`the open-file hard limit (${HARD_FD_LIMIT}) holds too few connections (${CONNECTIONS})`);
      return;
    }
    if (CONNECTIONS < LB_DEFAULTS.maxConnections) {
      t.diagnostic(`open-file hard limit ${HARD_FD_LIMIT}: ${CONNECTIONS} connections, the most that fit`);
    }
    const backend = await startBackend({ name: "sink", address: "127.0.0.2", mode: "sink" });
    t.after(() => backend.kill());
    const port = await freePort();
    const lb = spawn(
      "bash",
      [
        "-c",
        `ulimit -n ${HARD_FD_LIMIT} && exec "$0" "$@"`,
        process.execPath,
        "--import",
        "tsx",
        "src/cli/main.ts",
        "lb",
        "--listen",
        `127.0.0.1:${port}`,
        "--backend",
        backend.endpoint,
        // A check that times out on a loaded machine must not close the connections being measured.
        "--no-close-on-down",
      ],
      { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, NO_COLOR: "1", [DATA_PATH_ENV]: path } },
    );
    const exited = once(lb, "exit");
    t.after(async () => {
      if (lb.exitCode === null && lb.signalCode === null) {
        lb.kill("SIGKILL");
        await exited;
      }
    });
    let stderr = "";
    lb.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    await waitFor(() => /is up/.test(stderr), "the sink backend to be checked up", 30_000);
    const rssAtStart = rssOf(lb.pid!);

    const clients: net.Socket[] = [];
    t.after(() => {
      for (const socket of clients) socket.destroy();
    });
    const payload = Buffer.alloc(BYTES_PER_CONNECTION, 0x61);
    const openAndSend = () =>
      new Promise<void>((resolve, reject) => {
        const socket = net.connect({ host: "127.0.0.1", port });
        clients.push(socket);
        socket.once("error", reject);
        socket.once("connect", () => socket.write(payload, (error) => (error ? reject(error) : resolve())));
      });
    for (let opened = 0; opened < CONNECTIONS; opened += 250) {
      await Promise.all(Array.from({ length: Math.min(250, CONNECTIONS - opened) }, openAndSend));
    }
    const everything = CONNECTIONS * BYTES_PER_CONNECTION;
    let sunk = { bytes: 0, connections: 0 };
    const poll = setInterval(async () => {
      sunk = await backend.sunk();
    }, 200);
    t.after(() => clearInterval(poll));
    try {
      await waitFor(() => sunk.bytes === everything, `all ${everything} bytes at the backend`, 180_000);
    } catch (error) {
      const lost = `${sunk.bytes} bytes on ${sunk.connections} connections arrived; balancer said: ${stderr.slice(-2000)}`;
      throw new Error(`${(error as Error).message}: ${lost}`);
    }
    clearInterval(poll);
    assert.equal(sunk.connections, CONNECTIONS, "every connection is open through the balancer");

    const rss = rssOf(lb.pid!);
    t.diagnostic(
      `${path}: balancer RSS ${(rssAtStart / MiB).toFixed(0)} MiB at start, ${(rss / MiB).toFixed(0)} MiB with ${CONNECTIONS} idle connections (${((rss - rssAtStart) / CONNECTIONS / 1024).toFixed(1)} KiB each)`,
    );
    assert.ok(
      rss < RSS_LIMIT,
      `RSS ${(rss / MiB).toFixed(0)} MiB ≥ ${(RSS_LIMIT / MiB).toFixed(0)} MiB (a 256 KiB buffer per direction for life would be up to ${(CONNECTIONS * 512) / 1024} MiB)`,
    );

    for (const socket of clients) socket.destroy();
    lb.kill("SIGTERM");
    const [code] = await exited;
    assert.equal(code, 0, stderr);
  });
}
