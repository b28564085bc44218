import { type ChildProcess, spawn } from "node:child_process";
import { createSocket } from "node:dgram";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dig } from "./dig.js";

/**
 * unbound (Debian) in the foreground on a loopback address and a free high port, with its own
 * config in a temp dir. It serves only local data (local-zone "." static): it never recurses,
 * so it never sends a packet anywhere.
 */

export interface UnboundOptions {
  address: string;
  /** Zone apex → records in zone-file syntax ("www.upstream.test. 300 IN A 192.0.2.10"). */
  zones?: Record<string, string[]>;
  /** Instead of answering locally, forward everything to these "addr@port" (a caching forwarder). */
  forwardTo?: string[];
  /** Zones to resolve by asking this authoritative server ("addr@port"), as a resolver would (stub-zone). */
  stubZones?: Record<string, string>;
  threads?: number;
}

export interface Unbound {
  address: string;
  port: number;
  pid: number;
  /** "addr:port" */
  endpoint: string;
  stop(): Promise<void>;
}

export async function startUnbound(options: UnboundOptions): Promise<Unbound> {
  const dir = await mkdtemp(join(tmpdir(), "airstrap-unbound-"));
  const port = await freePort(options.address);
  const zones = Object.entries(options.zones ?? {}).flatMap(([apex, records]) => [
    `  local-zone: "${apex}" static`,
    ...records.map((record) => (record.includes('"') ? `  local-data: '${record}'` : `  local-data: "${record}"`)),
  ]);
  const config = [
    "server:",
    `  interface: ${options.address}@${port}`,
    `  port: ${port}`,
    "  do-daemonize: no",
    '  chroot: ""',
    '  username: ""',
    `  directory: "${dir}"`,
    '  pidfile: ""',
    "  use-syslog: no",
    '  logfile: ""',
    "  verbosity: 0",
    "  do-ip6: no",
    "  access-control: 127.0.0.0/8 allow",
    '  module-config: "iterator"',
    `  num-threads: ${options.threads ?? 1}`,
    "  so-reuseport: no",
    "  msg-cache-size: 16m",
    "  rrset-cache-size: 32m",
    ...(options.forwardTo ? [] : ['  local-zone: "." static']),
    ...zones,
    ...Object.keys(options.stubZones ?? {}).flatMap((zone) => [`  local-zone: "${zone}" transparent`]),
    ...(options.stubZones
      ? ["  do-not-query-localhost: no", "  harden-referral-path: no", "  qname-minimisation: no"]
      : []),
    ...Object.entries(options.stubZones ?? {}).flatMap(([zone, at]) => [
      "stub-zone:",
      `  name: "${zone}"`,
      `  stub-addr: ${at}`,
      "server:",
    ]),
    ...(options.forwardTo
      ? [
          "  do-not-query-localhost: no",
          "forward-zone:",
          '  name: "."',
          ...options.forwardTo.map((f) => `  forward-addr: ${f}`),
        ]
      : []),
    "remote-control:",
    "  control-enable: no",
    "",
  ].join("\n");
  await writeFile(join(dir, "unbound.conf"), config);
  const child = spawn("unbound", ["-d", "-c", join(dir, "unbound.conf")], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (chunk) => {
    stderr += chunk;
  });
  const stop = async () => {
    await stopChild(child);
    await rm(dir, { recursive: true, force: true });
  };
  const endpoint = `${options.address}:${port}`;
  try {
    await waitUntilAnswering(endpoint, child, () => stderr);
  } catch (error) {
    await stop();
    throw error;
  }
  return { address: options.address, port, pid: child.pid!, endpoint, stop };
}

async function waitUntilAnswering(endpoint: string, child: ChildProcess, stderr: () => string): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    if (child.exitCode !== null) throw new Error(`unbound exited: ${stderr()}`);
    const out = await dig(endpoint, "version.probe.", "A", ["+timeout=1"]).catch(() => undefined);
    if (out && out.status !== "NO-RESPONSE") return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`unbound did not answer on ${endpoint}: ${stderr()}`);
}

export function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill("SIGKILL"), 3000);
    child.once("exit", () => {
      clearTimeout(force);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

/** A port free for both UDP and TCP on the address (peers that cannot bind port 0 need one). */
export async function freePort(address: string): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 40000);
    const ok = await new Promise<boolean>((resolve) => {
      const tcp = createServer();
      tcp.once("error", () => resolve(false));
      tcp.listen({ host: address, port, exclusive: true }, () => {
        const udp = createSocket("udp4");
        udp.once("error", () => tcp.close(() => resolve(false)));
        udp.bind({ address, port, exclusive: true }, () => udp.close(() => tcp.close(() => resolve(true))));
      });
    });
    if (ok) return port;
  }
  throw new Error(`no free port on ${address}`);
}
