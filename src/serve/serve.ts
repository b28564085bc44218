import { readFile } from "node:fs/promises";
import { OperatorError } from "../errors.js";
import type { Events } from "../events.js";
import type { Plan } from "../plan/types.js";
import { pxeConfigFromPlan } from "../services/pxe/config.js";
import { type RunningPxe, startPxe } from "../services/pxe/service.js";
import type { StateDir } from "../state/state-dir.js";
import { prepareBootSite } from "./boot-site.js";
import { publishServeRecord, type ServeControl } from "./serve-record.js";

export interface ServingSite {
  pxe: RunningPxe;
  control: ServeControl;
  /** Resolves once the services are stopped, by `stop()` or by `airstrap teardown`. */
  stopped: Promise<void>;
  stop(): Promise<void>;
}

/**
 * `airstrap serve`: the boot services of the plan's PXE site, on the PXE address, until stopped.
 * The files they serve are laid out first (in the state dir), so a missing artifact or a bad
 * template stops here, before any machine is answered.
 */
export async function serveSite(options: {
  plan: Plan;
  state: StateDir;
  manifestDir: string;
  manifestText: string;
  storeRoot: string;
  events: Events;
  templates?: string;
  nodeBinary?: string;
}): Promise<ServingSite> {
  const { plan, state, events } = options;
  if (!plan.pxe || plan.pxe.hosts.length === 0) {
    throw new OperatorError("nothing to serve: no host boots over PXE", {
      hint: "set spec.provisioning.pxe and give each host that boots from the network its mac",
    });
  }
  await checkBindPrivilege();
  const site = await prepareBootSite({
    plan,
    state,
    manifestDir: options.manifestDir,
    manifestText: options.manifestText,
    storeRoot: options.storeRoot,
    dir: state.file("serve"),
    ...(options.templates === undefined ? {} : { templates: options.templates }),
    ...(options.nodeBinary === undefined ? {} : { nodeBinary: options.nodeBinary }),
  });
  const pxe = await startPxe(pxeConfigFromPlan(plan, site), events);
  let stopping: Promise<void> | undefined;
  let resolveStopped: () => void = () => {};
  const stopped = new Promise<void>((resolve) => {
    resolveStopped = resolve;
  });
  let control: ServeControl | undefined;
  const stop = () => {
    stopping ??= (async () => {
      try {
        await pxe.close();
        await control?.close();
      } finally {
        events.emit({ level: "info", kind: "serve.stopped", service: "serve", message: "boot services stopped" });
        resolveStopped();
      }
    })();
    return stopping;
  };
  try {
    control = await publishServeRecord(state, pxe.addresses, () => void stop());
  } catch (error) {
    await pxe.close();
    throw error;
  }
  events.emit({
    level: "info",
    kind: "serve.ready",
    service: "serve",
    message: `boot services ready: ${pxe.addresses.join(", ")}`,
    detail: { addresses: pxe.addresses, hosts: plan.pxe.hosts.map((h) => ({ name: h.name, mac: h.mac })) },
  });
  return { pxe, control, stopped, stop };
}

/** CAP_NET_BIND_SERVICE is bit 10 of the effective capability set. */
const CAP_NET_BIND_SERVICE = 10n;

/** DHCP (67) and TFTP (69) are privileged ports: say so before anything is written or bound. */
async function checkBindPrivilege(): Promise<void> {
  if (process.getuid?.() === 0) return;
  const status = await readFile("/proc/self/status", "utf8").catch(() => "");
  const effective = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1];
  if (effective !== undefined && (BigInt(`0x${effective}`) >> CAP_NET_BIND_SERVICE) & 1n) return;
  throw new OperatorError(
    "airstrap serve answers DHCP (port 67) and TFTP (port 69): it needs root or CAP_NET_BIND_SERVICE",
    {
      hint: "run it with sudo, or once: sudo setcap cap_net_bind_service=+ep $(command -v airstrap)",
    },
  );
}
