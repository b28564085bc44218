import { loadavg } from "node:os";
import { createInitLabSite, type InitEvent, startInit } from "../../test/peers/init-lab-site.js";

/**
 * The "to Ready" column: `airstrap init` (the lab build, with the simulated distro) on a site of
 * `count` PXE VMs (the first a server, the others agents) with the built-in templates and the VMs'
 * data disks, from each VM's power-on (init's power-on command done) to SSH answering and to its
 * node Ready, as init's own events tell.
 */
export interface InitVmResult {
  host: string;
  sshMs?: number;
  readyMs?: number;
}

export interface InitRunResult {
  count: number;
  code: number;
  results: InitVmResult[];
  load: [number, number];
  /** What init said when it failed (its error events, the end of its stderr). */
  errors: string[];
}

const INIT_TIMEOUT_S = 3000;

/** `count` lab VMs pxe-1…: the first a server, the others agents; `macGroup` keeps each run's MACs apart. */
export function benchVms(count: number, macGroup: string) {
  return Array.from({ length: count }, (_, index) => ({
    name: `pxe-${index + 1}`,
    role: (index === 0 ? "server" : "agent") as "server" | "agent",
    octet: 31 + index,
    mac: `52:54:00:9e:${macGroup}:${(0x31 + index).toString(16)}`,
  }));
}

export async function initToReady(count: number, labBinary: string): Promise<InitRunResult> {
  const loadBefore = loadavg()[0]!;
  const site = await createInitLabSite({
    offset: 90 + count,
    hosts: benchVms(count, "02"),
  });
  try {
    const init = startInit(labBinary, site, INIT_TIMEOUT_S);
    const code = await init.exited;
    const events = init.events();
    return {
      count,
      code,
      results: site.hosts.map((host) => stepTimes(events, host.name)),
      load: [loadBefore, loadavg()[0]!],
      errors: [
        ...events.filter((e) => e.level === "error").map((e) => `${e.host ?? ""} ${e.message}`.trim()),
        ...(code === 0 ? [] : [init.stderr().trim().slice(-2000)].filter((text) => text !== "")),
      ],
    };
  } finally {
    await site.remove();
  }
}

/** ms from the host's power-on (its power-on command done) to its first row at each step. */
function stepTimes(events: InitEvent[], host: string): InitVmResult {
  const at = (match: (e: InitEvent) => boolean) => {
    const event = events.find(match);
    return event ? Date.parse(event.time) : undefined;
  };
  const poweredOn = at((e) => e.kind === "init.power-on" && e.host === host);
  const step = (name: string) => at((e) => e.kind === "init.machine" && e.host === host && e.detail?.step === name);
  const since = (time: number | undefined) =>
    time === undefined || poweredOn === undefined ? undefined : time - poweredOn;
  const sshMs = since(step("ssh"));
  const readyMs = since(step("ready"));
  return { host, ...(sshMs === undefined ? {} : { sshMs }), ...(readyMs === undefined ? {} : { readyMs }) };
}
