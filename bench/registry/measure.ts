/**
 * What the registry benchmark measures about one server process, and how: wall time of a step,
 * the server's CPU seconds and peak RSS from /proc, and a raw pull with curl (no skopeo).
 */
import { execFile, spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { promisify } from "node:util";

const run = promisify(execFile);

/** The fields of /proc/<pid>/stat after the command name, in clock ticks where they are times. */
async function statFields(pid: number | "self"): Promise<string[]> {
  return (await readFile(`/proc/${pid}/stat`, "utf8")).split(") ")[1]!.split(" ");
}

/** CPU seconds (user + system) a process has used so far. */
export async function cpuSeconds(pid: number): Promise<number> {
  const fields = await statFields(pid);
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * CPU seconds used by this process's children that have exited and been waited for (cutime +
 * cstime): around a step whose clients (skopeo, curl) are children that exit, their own CPU.
 */
async function reapedChildrenCpuSeconds(): Promise<number> {
  const fields = await statFields("self");
  return (Number(fields[13]) + Number(fields[14])) / 100;
}

/** The machine's CPU seconds so far: busy (all cores), and idle while waiting for the disk (iowait). */
async function machineCpuSeconds(): Promise<{ busy: number; iowait: number }> {
  const [user, nice, system, , iowait, irq, softirq, steal] = (await readFile("/proc/stat", "utf8"))
    .split("\n")[0]!
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  return { busy: (user! + nice! + system! + irq! + softirq! + steal!) / 100, iowait: iowait! / 100 };
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

export interface Measured {
  seconds: number;
  /** The server's CPU seconds (user + system). */
  cpu: number;
  /** The clients' CPU seconds: children of this process that ran and exited during the step. */
  clientCpu: number;
  /** CPU seconds the whole machine was busy, and idle waiting for the disk (iowait), summed over cores. */
  machineBusy: number;
  machineIowait: number;
}

/**
 * Seconds `work` took, the CPU seconds server `pid` and the step's clients spent meanwhile, and
 * the machine's busy and iowait seconds. Dirty pages left by an earlier step (the generated
 * image, the other server's store, a pulled layout) are written out first, so no step pays for
 * another one's writeback.
 */
export async function measured(pid: number, work: () => Promise<unknown>): Promise<Measured> {
  await run("sync");
  const [cpuBefore, clientBefore, machineBefore] = [
    await cpuSeconds(pid),
    await reapedChildrenCpuSeconds(),
    await machineCpuSeconds(),
  ];
  const started = process.hrtime.bigint();
  await work();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const machineAfter = await machineCpuSeconds();
  return {
    seconds,
    cpu: (await cpuSeconds(pid)) - cpuBefore,
    clientCpu: (await reapedChildrenCpuSeconds()) - clientBefore,
    machineBusy: machineAfter.busy - machineBefore.busy,
    machineIowait: machineAfter.iowait - machineBefore.iowait,
  };
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
