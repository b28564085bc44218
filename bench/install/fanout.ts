import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, createReadStream, openSync, rmSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { silentEvents } from "../../src/events.js";
import { fetchScript } from "../../src/install/fetch-on-host.js";
import { relayStartCommand, relayStopCommand, relayTree } from "../../src/install/relay.js";
import { LAB_DISKS_DIR } from "../../src/lab/disk.js";
import type { PlannedHost } from "../../src/plan/types.js";
import { startFileServer } from "../../src/services/files/service.js";
import { createTestLab, labSkipReason, type TestLab, type TestLabHost } from "../../test/lab/lab-fixture.js";
import { buildSingleExecutable } from "../../test/peers/airstrap-sea.js";

/**
 * Issue 8's fan-out figure: the time to put one artifact on N lab hosts (N = 2, 6, 12) three ways,
 * with the very scripts install sends (curl, SHA-256 check, rename):
 * (a) every host fetches it at once from the file server on the bootstrap address;
 * (b) install's relay tree: the bootstrap machine serves two hosts, each host relays to two more
 *     as the bytes land (`airstrap relay` on the hosts, the executable put there before the clock);
 * (c) scp to each host in turn, checked there with sha256sum.
 * Twice: on this machine's links as they are (1 GiB; every host shares the CPUs and one disk), and
 * with the bootstrap machine's link shaped to FANOUT_BENCH_RATE (256 MiB), as on a site where the
 * laptop's one link is the narrow part. The bytes that left the bootstrap machine are counted too.
 */
const SIZES = [2, 6, 12];
const BYTES = Number(process.env.FANOUT_BENCH_BYTES ?? 2 ** 30);
const SHAPED_BYTES = Number(process.env.FANOUT_BENCH_SHAPED_BYTES ?? 2 ** 28);
const RATE = process.env.FANOUT_BENCH_RATE ?? "400mbit";
const PORT = 18078;
const TARGET = "/var/tmp/fanout-artifact";
const STEP_TIMEOUT_MS = 600_000;

function ssh(site: TestLab, host: TestLabHost, command: string): Promise<void> {
  return run("ssh", [...sshOptions(site), `root@${host.address}`, command]);
}

/** One multiplexed connection per host, opened before the clock starts: the figures are transfer, not login. */
function sshOptions(site: TestLab): string[] {
  return [
    "-i",
    site.identity,
    "-o",
    "BatchMode=yes",
    "-o",
    `UserKnownHostsFile=${site.knownHosts}`,
    "-o",
    "StrictHostKeyChecking=yes",
    "-o",
    `ControlPath=${site.dir}/cm-%h`,
  ];
}

function openMasters(site: TestLab): Promise<unknown> {
  return Promise.all(
    site.hosts.map((h) =>
      run("ssh", [
        ...sshOptions(site),
        "-o",
        "ControlMaster=yes",
        "-o",
        "ControlPersist=900",
        "-fN",
        `root@${h.address}`,
      ]),
    ),
  );
}

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), STEP_TIMEOUT_MS);
    // "exit", not "close": a backgrounded ControlMaster keeps the stderr pipe open.
    child.on("exit", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`${command} ${args.at(-1)} exited ${code}: ${stderr.trim()}`));
    });
  });
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - started) / 1e9;
}

/** Bytes per second this machine's disk takes (where the lab hosts' disks live), 2 GiB with fdatasync. */
async function diskWriteSpeed(): Promise<number> {
  const probe = join(LAB_DISKS_DIR, `.fanout-disk-probe-${process.pid}`);
  try {
    const seconds = await timed(() =>
      run("dd", ["if=/dev/zero", `of=${probe}`, "bs=1M", "count=2048", "conv=fdatasync", "status=none"]),
    );
    return (2048 * 2 ** 20) / seconds;
  } finally {
    rmSync(probe, { force: true });
  }
}

interface Row {
  n: number;
  direct: number;
  relay: number;
  serial: number;
  /** Copies of the artifact that left the bootstrap machine's file server. */
  directCopies: number;
  relayCopies: number;
}

/** The bootstrap machine's side of the lab's link (the route to the site's subnet). */
function bootstrapLink(site: TestLab): string {
  const routes = JSON.parse(
    execFileSync("ip", ["-j", "-4", "route", "show", `${site.subnet}.0/24`], { encoding: "utf8" }),
  );
  const dev = (routes as Array<{ dev?: string }>)[0]?.dev;
  if (!dev) throw new Error(`no route to ${site.subnet}.0/24`);
  return dev;
}

async function measureSizes(site: TestLab, artifact: string, bytes: number, served: () => number): Promise<Row[]> {
  const hash = createHash("sha256");
  await pipeline(createReadStream(artifact), hash);
  const sha256 = hash.digest("hex");
  const bootstrapUrl = `http://${site.bootstrapAddress}:${PORT}/files/${sha256}`;
  const clean = (hosts: TestLabHost[]) =>
    Promise.all(hosts.map((h) => ssh(site, h, `${relayStopCommand}; rm -f ${TARGET}* && sync`)));
  const rows: Row[] = [];
  for (const n of SIZES) {
    const hosts = site.hosts.slice(0, n);
    await clean(hosts);
    let before = served();
    const direct = await timed(() =>
      Promise.all(hosts.map((h) => ssh(site, h, fetchScript([bootstrapUrl], TARGET, sha256, 0o644)))),
    );
    const directCopies = (served() - before) / bytes;
    await clean(hosts);

    const tree = relayTree(hosts.map((h) => h.name));
    const byName = new Map(hosts.map((h) => [h.name, h]));
    const relayFile = [{ sha256, size: bytes, path: TARGET }];
    const allowed = [`${site.subnet}.0/24`];
    before = served();
    const relay = await timed(async () => {
      // As install does: the relays start, then every host fetches from its parent, else from the bootstrap machine.
      await Promise.all(
        hosts
          .filter((h) => [...tree.values()].includes(h.name))
          .map((h) => ssh(site, h, relayStartCommand(h as unknown as PlannedHost, PORT, allowed, relayFile))),
      );
      await Promise.all(
        hosts.map((h) => {
          const parent = byName.get(tree.get(h.name) ?? "");
          const relays = parent ? [`http://${parent.address}:${PORT}/files/${sha256}`] : [];
          return ssh(site, h, fetchScript([...relays, bootstrapUrl], TARGET, sha256, 0o644));
        }),
      );
    });
    const relayCopies = (served() - before) / bytes;
    await clean(hosts);

    const serial = await timed(async () => {
      for (const h of hosts) {
        await run("scp", ["-q", ...sshOptions(site), artifact, `root@${h.address}:${TARGET}`]);
        await ssh(site, h, `echo '${sha256}  ${TARGET}' | sha256sum -c --status`);
      }
    });
    await clean(hosts);
    rows.push({ n, direct, relay, serial, directCopies, relayCopies });
  }
  return rows;
}

function writeArtifact(path: string, bytes: number): void {
  const out = openSync(path, "w", 0o600);
  try {
    execFileSync("head", ["-c", String(bytes), "/dev/urandom"], { stdio: ["ignore", out, "inherit"] });
  } finally {
    closeSync(out);
  }
}

function printRows(rows: Row[], floor?: (n: number) => string): void {
  const base = rows[0]!;
  console.log(
    `| N | all from bootstrap | relay tree | scp to each in turn | relay vs scp | relay vs N=2 | copies sent by bootstrap (all / relay) |${floor ? " disk floor |" : ""}`,
  );
  console.log(`|---:|---:|---:|---:|---:|---:|---:|${floor ? "---:|" : ""}`);
  for (const row of rows) {
    console.log(
      `| ${row.n} | ${row.direct.toFixed(1)} s | ${row.relay.toFixed(1)} s | ${row.serial.toFixed(1)} s | ${(row.serial / row.relay).toFixed(2)}× | ${(row.relay / base.relay).toFixed(2)}× | ${row.directCopies.toFixed(1)} / ${row.relayCopies.toFixed(1)} |${floor ? ` ${floor(row.n)} |` : ""}`,
    );
  }
}

async function main(): Promise<void> {
  const skip = await labSkipReason();
  if (skip) {
    console.log(`fan-out bench: SKIP (${skip})`);
    return;
  }
  const site = await createTestLab({
    offset: 60,
    hosts: Array.from({ length: Math.max(...SIZES) }, (_, i) => ({
      name: `f${String(i + 1).padStart(2, "0")}`,
      role: i === 0 ? ("server" as const) : ("agent" as const),
      octet: 11 + i,
    })),
  });
  const binary = buildSingleExecutable("src/cli/main.ts");
  const artifact = join(site.dir, "artifact.bin");
  let link: string | undefined;
  try {
    await site.up();
    await openMasters(site);
    // The relay runs from the executable, which install puts on every host before the files.
    await Promise.all(
      site.hosts.map((h) =>
        run("scp", ["-q", ...sshOptions(site), binary.path, `root@${h.address}:/usr/local/bin/airstrap`]),
      ),
    );
    const server = await startFileServer(
      { address: site.bootstrapAddress, port: PORT, files: [], allowedNetworks: [`${site.subnet}.0/24`] },
      silentEvents,
    );
    const served = () => Number(/airstrap_files_bytes_served_total (\d+)/.exec(server.metrics())?.[1]);
    const serve = (sha256: string) =>
      server.reload({
        address: site.bootstrapAddress,
        port: PORT,
        files: [{ sha256, path: artifact }],
        allowedNetworks: [`${site.subnet}.0/24`],
      });
    const results: Array<{ title: string; rows: Row[]; bytes: number }> = [];
    try {
      for (const shaped of [false, true]) {
        const bytes = shaped ? SHAPED_BYTES : BYTES;
        writeArtifact(artifact, bytes);
        const hash = createHash("sha256");
        await pipeline(createReadStream(artifact), hash);
        await serve(hash.digest("hex"));
        if (shaped) {
          link = bootstrapLink(site);
          execFileSync("tc", [
            "qdisc",
            "replace",
            "dev",
            link,
            "root",
            "tbf",
            "rate",
            RATE,
            "burst",
            "1mb",
            "latency",
            "100ms",
          ]);
        }
        const rows = await measureSizes(site, artifact, bytes, served);
        if (link) execFileSync("tc", ["qdisc", "del", "dev", link, "root"]);
        link = undefined;
        results.push({
          title: shaped
            ? `${(bytes / 2 ** 20).toFixed(0)} MiB, the bootstrap machine's link shaped to ${RATE} (tc tbf)`
            : `${(bytes / 2 ** 30).toFixed(2)} GiB, this machine's links as they are`,
          rows,
          bytes,
        });
      }
    } finally {
      await server.close();
    }
    const diskBytesPerSecond = await diskWriteSpeed();
    console.log(`\nArtifact fan-out to N lab hosts (load average ${loadavg()[0]!.toFixed(1)})`);
    for (const result of results) {
      console.log(`\n${result.title}:`);
      printRows(
        result.rows,
        result.title.includes("shaped")
          ? undefined
          : (n) => `${((n * result.bytes) / diskBytesPerSecond).toFixed(1)} s`,
      );
    }
    console.log(
      `\nEvery lab host writes to this machine's one disk (${(diskBytesPerSecond / 1e6).toFixed(0)} MB/s with fdatasync) and hashes on its 2 CPUs: unshaped, N copies cannot take less than the disk floor.`,
    );
  } finally {
    if (link) execFileSync("tc", ["qdisc", "del", "dev", link, "root"]);
    binary.remove();
    await site.remove();
  }
}

await main();
