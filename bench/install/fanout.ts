import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, createReadStream, openSync, rmSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { silentEvents } from "../../src/events.js";
import { fetchScript } from "../../src/install/fetch-on-host.js";
import { LAB_DISKS_DIR } from "../../src/lab/disk.js";
import { startFileServer } from "../../src/services/files/server.js";
import { createTestLab, labSkipReason, type TestLab, type TestLabHost } from "../../test/lab/lab-fixture.js";

/**
 * Issue 8's fan-out figure: the time to put one 1 GiB artifact on N lab hosts (N = 2, 6, 12),
 * (a) the way install does it — every host fetches it at once from the file server on the
 * bootstrap address with the very script install sends (curl, SHA-256 check, rename) — against
 * (b) copying it to each host in turn with scp and checking it there with sha256sum.
 */
const SIZES = [2, 6, 12];
const BYTES = Number(process.env.FANOUT_BENCH_BYTES ?? 2 ** 30);
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
  const artifact = join(site.dir, "artifact.bin");
  try {
    await site.up();
    await openMasters(site);
    const out = openSync(artifact, "w", 0o600);
    try {
      execFileSync("head", ["-c", String(BYTES), "/dev/urandom"], { stdio: ["ignore", out, "inherit"] });
    } finally {
      closeSync(out);
    }
    const hash = createHash("sha256");
    await pipeline(createReadStream(artifact), hash);
    const sha256 = hash.digest("hex");
    const server = await startFileServer(
      {
        address: site.bootstrapAddress,
        port: PORT,
        files: [{ sha256, path: artifact }],
        allowedNetworks: [`${site.subnet}.0/24`],
      },
      silentEvents,
    );
    const script = fetchScript([`http://${site.bootstrapAddress}:${PORT}/files/${sha256}`], TARGET, sha256, 0o644);
    const clean = (hosts: TestLabHost[]) => Promise.all(hosts.map((h) => ssh(site, h, `rm -f ${TARGET}* && sync`)));
    const rows: Array<{ n: number; fanout: number; serial: number }> = [];
    try {
      for (const n of SIZES) {
        const hosts = site.hosts.slice(0, n);
        await clean(hosts);
        const fanout = await timed(() => Promise.all(hosts.map((h) => ssh(site, h, script))));
        await clean(hosts);
        const serial = await timed(async () => {
          for (const h of hosts) {
            await run("scp", ["-q", ...sshOptions(site), artifact, `root@${h.address}:${TARGET}`]);
            await ssh(site, h, `echo '${sha256}  ${TARGET}' | sha256sum -c --status`);
          }
        });
        await clean(hosts);
        rows.push({ n, fanout, serial });
      }
    } finally {
      await server.close();
    }
    const diskBytesPerSecond = await diskWriteSpeed();
    const base = rows[0]!.fanout;
    console.log(
      `\nArtifact fan-out: ${(BYTES / 2 ** 30).toFixed(2)} GiB to N lab hosts (load average ${loadavg()[0]!.toFixed(1)})`,
    );
    console.log(
      `Every lab host writes to this machine's one disk (${(diskBytesPerSecond / 1e6).toFixed(0)} MB/s with fdatasync) on its 2 CPUs: N copies cannot take less than the floor column.`,
    );
    console.log(
      "| N | install fan-out (HTTP, all at once) | scp to each in turn | fan-out speed-up | fan-out vs N=2 | disk floor |",
    );
    console.log("|---:|---:|---:|---:|---:|---:|");
    for (const row of rows) {
      console.log(
        `| ${row.n} | ${row.fanout.toFixed(1)} s | ${row.serial.toFixed(1)} s | ${(row.serial / row.fanout).toFixed(2)}× | ${(row.fanout / base).toFixed(2)}× | ${((row.n * BYTES) / diskBytesPerSecond).toFixed(1)} s |`,
      );
    }
  } finally {
    await site.remove();
  }
}

await main();
