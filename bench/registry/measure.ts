/**
 * What the registry benchmark measures about one server process, and how: wall time of a step,
 * the server's CPU seconds and peak RSS from /proc, and a raw pull with curl (no skopeo).
 */
import { execFile, spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { promisify } from "node:util";

const run = promisify(execFile);

/** CPU seconds (user + system) a process has used so far. */
export async function cpuSeconds(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, "utf8")).split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Peak resident set size in MB (VmHWM). */
export async function peakRssMB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN) / 1024;
}

/** Starts a new peak for VmHWM (proc(5): writing 5 to clear_refs resets it to the current RSS). */
export async function resetPeakRss(pid: number): Promise<void> {
  await writeFile(`/proc/${pid}/clear_refs`, "5");
}

/**
 * Seconds `work` took and the CPU seconds server `pid` spent meanwhile. Dirty pages left by an
 * earlier step (the generated image, the other server's store, a pulled layout) are written out
 * first, so no step pays for another one's writeback.
 */
export async function measured(pid: number, work: () => Promise<unknown>): Promise<{ seconds: number; cpu: number }> {
  await run("sync");
  const cpuBefore = await cpuSeconds(pid);
  const started = process.hrtime.bigint();
  await work();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { seconds, cpu: (await cpuSeconds(pid)) - cpuBefore };
}

/** Every blob fetched at once by its own curl into /dev/null: the server's speed, not skopeo's. */
export async function curlPull(host: string, repository: string, digests: string[]): Promise<void> {
  await Promise.all(
    digests.map(
      (digest) =>
        new Promise<void>((resolve, reject) => {
          const url = `http://${host}/v2/${repository}/blobs/${digest}`;
          const child = spawn("curl", ["--silent", "--show-error", "--fail", "--output", "/dev/null", url], {
            stdio: ["ignore", "ignore", "pipe"],
          });
          let stderr = "";
          child.stderr.on("data", (chunk: Buffer) => {
            stderr += chunk.toString();
          });
          child.once("error", reject);
          child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`curl ${url}: ${stderr}`))));
        }),
    ),
  );
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
