import { OperatorError } from "../errors.js";
import type { Events } from "../events.js";
import type { StateDir } from "../state/state-dir.js";
import { consoleLogPath, type LabHostState, type LabState, requireHost, requireLab, writeLabState } from "./state.js";
import { isOurVm, powerOffVm, powerOnVm, resetVm, VM_MEMORY_MIB } from "./vm.js";

const POWER_ACTIONS = ["on", "off", "reset"] as const;
export type PowerAction = (typeof POWER_ACTIONS)[number];

export function isPowerAction(value: string): value is PowerAction {
  return (POWER_ACTIONS as readonly string[]).includes(value);
}

/** The power button of a lab machine that boots from the network (a VM; see vm.ts). */
export async function labPower(state: StateDir, name: string, action: PowerAction, events: Events): Promise<void> {
  const lab = await requireLab(state);
  const host = requireVmHost(lab, name);
  const vm = host.vm;
  const on = isOurVm(host.pid, host.machine);
  if (action === "on") {
    if (on) return;
    host.pid = powerOnVm({
      netns: lab.names.netns,
      bridge: lab.names.bridge,
      tap: vm.tap,
      machine: host.machine,
      mac: host.pxe.mac,
      firmware: vm.firmware,
      memoryMiB: VM_MEMORY_MIB,
      consoleLog: consoleLogPath(state, host.name),
      monitor: vm.monitor,
      ...(vm.dataDisk === undefined ? {} : { dataDisk: vm.dataDisk }),
    });
    await writeLabState(state, lab);
    events.emit({
      level: "info",
      kind: "lab.host.power",
      host: name,
      message: `powered on (boots from the network as ${host.pxe.mac})`,
    });
  } else if (action === "off") {
    if (host.pid !== undefined) await powerOffVm(host.pid, host.machine, vm.monitor);
    delete host.pid;
    await writeLabState(state, lab);
    events.emit({ level: "info", kind: "lab.host.power", host: name, message: "powered off" });
  } else {
    if (!on) {
      throw new OperatorError(`lab host ${name} is powered off; reset needs it on`, {
        hint: `power it on with: airstrap lab power on ${name}`,
      });
    }
    await resetVm(vm.monitor, name);
    events.emit({ level: "info", kind: "lab.host.power", host: name, message: "reset (boots from the network again)" });
  }
}

type VmHost = LabHostState & Required<Pick<LabHostState, "vm" | "pxe">>;

function requireVmHost(lab: LabState, name: string): VmHost {
  const host = requireHost(lab, name);
  if (!host.vm || !host.pxe) {
    throw new OperatorError(`lab host ${name} is a container with its OS, not a machine that boots from the network`, {
      hint: "power applies to hosts with a mac (with spec.provisioning.pxe set); containers have lab start/stop/kill",
    });
  }
  return host as VmHost;
}
