// bench/bundle: create, verify and load a bundle of generated data; compare with sha256sum and
// tar over the same bytes in the same run. Bounded: fixed data size, each step runs once.
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { type FileRecord, writeArtifactIndex } from "../../src/artifacts/artifact-index.js";
import { openBlobStore } from "../../src/store/blob-store.js";

const MiB = 1024 * 1024;
const totalMiB = Number(process.env.BENCH_BUNDLE_MIB ?? 2048);
const blobMiB = 128;
const root = process.env.BENCH_DIR ?? "/tmp/airstrap-bench-bundle";
const here = import.meta.dirname;
const tsx = import.meta.resolve("tsx");

interface Row {
  name: string;
  bytes: number;
  seconds: number;
  rssKiB: number;
}

async function generate(storeDir: string, mib: number): Promise<string[]> {
  const store = await openBlobStore(storeDir);
  const files: FileRecord[] = [];
  for (let i = 0; i * blobMiB < mib; i++) {
    const size = Math.min(blobMiB, mib - i * blobMiB) * MiB;
    // Random data (incompressible, like image tarballs), produced in 8 MiB pieces to keep setup memory flat.
    const chunks = (function* () {
      for (let done = 0; done < size; done += 8 * MiB) yield randomBytes(Math.min(8 * MiB, size - done));
    })();
    const { digest } = await store.write(Readable.from(chunks));
    files.push({
      distro: "k3s",
      version: "bench",
      arch: "amd64",
      name: `blob-${i}`,
      digest,
      size,
      verification: "sums",
      source: "bench",
    });
  }
  await writeArtifactIndex(storeDir, { files, images: [] });
  return files.map((f) => store.blobPath(f.digest));
}

function timed(name: string, command: string, args: string[], bytes: number): Row {
  const result = spawnSync("/usr/bin/time", ["-f", "%e %M", command, ...args], {
    encoding: "utf8",
    maxBuffer: 64 * MiB,
  });
  if (result.status !== 0) throw new Error(`${command} failed: ${result.stderr}`);
  const [seconds, rss] = result.stderr.trim().split("\n").at(-1)!.split(" ").map(Number);
  return { name, bytes, seconds: seconds!, rssKiB: rss! };
}

function airstrap(name: string, op: string, store: string, bundle: string, state: string): Row {
  const output = execFileSync(process.execPath, ["--import", tsx, join(here, "op.ts"), op, store, bundle, state], {
    encoding: "utf8",
  });
  const result = JSON.parse(output.trim().split("\n").at(-1)!) as { bytes: number; seconds: number; maxRssKiB: number };
  return { name, bytes: result.bytes, seconds: result.seconds, rssKiB: result.maxRssKiB };
}

await rm(root, { recursive: true, force: true });
await mkdir(root, { recursive: true });
try {
  const rows: Row[] = [];
  const small = Math.max(256, Math.floor(totalMiB / 8));
  for (const [label, mib] of [
    ["small", small],
    ["full", totalMiB],
  ] as const) {
    const store = join(root, `${label}-store`);
    const blobs = await generate(store, mib);
    const bundle = join(root, `${label}.bundle`);
    const state = join(root, "state");
    const target = join(root, `${label}-target`);
    const bytes = mib * MiB;
    if (label === "small") {
      rows.push(
        airstrap(`airstrap verify (${mib} MiB)`, "verify", store, await createOnly(store, bundle, state), state),
      );
      await rm(store, { recursive: true, force: true });
      await rm(bundle, { force: true });
      continue;
    }
    rows.push(timed("sha256sum (store blobs)", "sha256sum", blobs, bytes));
    rows.push(timed("tar cf (store blobs)", "tar", ["-cf", join(root, "ref.tar"), ...blobs], bytes));
    rows.push(airstrap("airstrap bundle create", "create", store, bundle, state));
    rows.push(timed("sha256sum (bundle)", "sha256sum", [bundle], rows.at(-1)!.bytes));
    rows.push(airstrap("airstrap bundle verify", "verify", store, bundle, state));
    await mkdir(join(root, "untar"), { recursive: true });
    rows.push(timed("tar xf (bundle)", "tar", ["-xf", bundle, "-C", join(root, "untar")], rows.at(-1)!.bytes));
    await rm(join(root, "untar"), { recursive: true, force: true });
    rows.push(airstrap("airstrap bundle load", "load", target, bundle, state));
    const loaded = (await readdir(join(target, "blobs", "sha256"))).length;
    if (loaded !== blobs.length) throw new Error(`load produced ${loaded} blobs, expected ${blobs.length}`);
  }
  const reference = (name: string) => rows.find((r) => r.name === name)!;
  const mbps = (r: Row) => r.bytes / 1e6 / r.seconds;
  const lines = [
    `bundle benchmark: ${totalMiB} MiB of random data in ${Math.ceil(totalMiB / blobMiB)} blobs of ${blobMiB} MiB (page cache warm for every step)`,
    "",
    "| step | bytes | seconds | MB/s | vs sha256sum | peak RSS |",
    "|---|---:|---:|---:|---:|---:|",
  ];
  for (const row of rows) {
    const base = row.name.includes("create")
      ? reference("sha256sum (store blobs)")
      : row.name.startsWith("airstrap")
        ? reference("sha256sum (bundle)")
        : undefined;
    const ratio = base && !row.name.includes(" MiB)") ? `${(mbps(row) / mbps(base)).toFixed(2)}×` : "";
    lines.push(
      `| ${row.name} | ${row.bytes} | ${row.seconds.toFixed(2)} | ${mbps(row).toFixed(0)} | ${ratio} | ${(row.rssKiB / 1024).toFixed(0)} MiB |`,
    );
  }
  const baseline = airstrap(
    "baseline",
    "baseline",
    join(root, "full-store"),
    join(root, "full.bundle"),
    join(root, "state"),
  );
  const verifySmall = rows.find((r) => r.name.startsWith("airstrap verify ("))!;
  const verifyFull = reference("airstrap bundle verify");
  lines.push(
    "",
    `verify peak RSS: ${(verifySmall.rssKiB / 1024).toFixed(0)} MiB at ${verifySmall.bytes} bytes, ${(verifyFull.rssKiB / 1024).toFixed(0)} MiB at ${verifyFull.bytes} bytes`,
    `the same process doing no work (Node, the TypeScript loader, airstrap's modules): ${(baseline.rssKiB / 1024).toFixed(0)} MiB`,
  );
  console.log(lines.join("\n"));
} finally {
  await rm(root, { recursive: true, force: true });
}

async function createOnly(store: string, bundle: string, state: string): Promise<string> {
  airstrap("create", "create", store, bundle, state);
  return bundle;
}
