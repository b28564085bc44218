import { readFileSync } from "node:fs";
import { join } from "node:path";
import { hostCgroups } from "../../src/lab/cgroups.js";
import type { TestLab } from "../../test/lab/lab-fixture.js";

/**
 * Where the CPU went during a measurement. Every lab host shares this machine's CPUs, so once the
 * hosts together need more CPU time than the machine has, adding hosts adds wall time even when
 * the install does the work fully in parallel; these figures tell that apart from waiting.
 */
export interface CpuSample {
  /** CPU seconds used so far by all the lab's hosts (their cgroups' cpu.stat usage_usec). */
  hostSeconds: number;
  /** This machine's busy and total CPU time so far (/proc/stat, all CPUs), in seconds. */
  machineBusy: number;
  machineTotal: number;
}

export async function sampleCpu(site: TestLab): Promise<CpuSample> {
  const lab = await site.lab();
  let hostSeconds = 0;
  for (const host of lab.hosts) {
    for (const dir of hostCgroups(host.machine)) {
      try {
        const usage = readFileSync(join(dir, "cpu.stat"), "utf8").match(/^usage_usec (\d+)$/m);
        if (usage) hostSeconds += Number(usage[1]) / 1e6;
      } catch {
        // This hierarchy (name=systemd under cgroup v1) keeps no CPU accounting.
      }
    }
  }
  // cpu  user nice system idle iowait irq softirq steal …, in USER_HZ (100 per second on Linux).
  const fields = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  const total = fields.slice(0, 8).reduce((sum, value) => sum + value, 0);
  return { hostSeconds, machineBusy: (total - idle) / 100, machineTotal: total / 100 };
}

export interface CpuUse {
  hostSeconds: number;
  /** Share of the machine's CPU time that was busy (anything, including other work on it). */
  machineBusyShare: number;
}

export function cpuBetween(start: CpuSample, end: CpuSample): CpuUse {
  const total = end.machineTotal - start.machineTotal;
  return {
    hostSeconds: end.hostSeconds - start.hostSeconds,
    machineBusyShare: total > 0 ? (end.machineBusy - start.machineBusy) / total : 0,
  };
}
