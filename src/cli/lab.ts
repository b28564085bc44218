import type { Command } from "commander";
import { OperatorError } from "../errors.js";
import { createEvents, type Events, silentEvents } from "../events.js";
import { openKnownHosts } from "../hosts/known-hosts.js";
import { labNameOf, labUpFromManifest, openLabState } from "../lab/from-manifest.js";
import { currentLabStatus, labDown, labHeal, labKill, labPartition, labStart, labStop } from "../lab/lab.js";
import { isPowerAction, labPower } from "../lab/power.js";
import { readLabState } from "../lab/state.js";
import { renderStatusTable } from "../lab/status.js";
import type { StateDir } from "../state/state-dir.js";
import { manifestOption, outputFormatOption, stateDirOption } from "./common.js";
import { colorsFor, err, out } from "./terminal.js";

interface LabOptions {
  file: string;
  stateDir?: string;
  output?: "text" | "json";
}

function progressEvents(): Events {
  const events = createEvents();
  const c = colorsFor(process.stderr);
  events.subscribe((event) => {
    if (event.level === "debug") return;
    err(`${c.dim(event.host ? `${event.host}: ` : "lab: ")}${event.message}`);
  });
  return events;
}

function withLabOptions(command: Command): Command {
  return stateDirOption(manifestOption(command));
}

/**
 * The lab's machines are gone with `lab down`, and the next `lab up` boots new ones with new host
 * keys; the pins install made for them would only stop the next install. Real machines never get this.
 */
async function forgetHostKeys(state: StateDir, machines: Array<{ address: string }>): Promise<number> {
  const knownHosts = openKnownHosts(state, silentEvents);
  let removed = 0;
  for (const machine of machines) removed += await knownHosts.forget(machine.address, 22);
  return removed;
}

async function printStatus(options: LabOptions): Promise<void> {
  const status = await currentLabStatus(await openLabState(options));
  out(options.output === "json" ? JSON.stringify(status, null, 2) : renderStatusTable(status));
}

type HostAction = (state: Awaited<ReturnType<typeof openLabState>>, host: string, events: Events) => Promise<void>;

function hostVerb(lab: Command, name: string, description: string, action: HostAction): void {
  const command = lab.command(`${name} <host>`).description(description);
  withLabOptions(command).action(async (host: string, options: LabOptions) => {
    await action(await openLabState(options), host, progressEvents());
    await printStatus(options);
  });
}

export function registerLab(program: Command): Command {
  const lab = program
    .command("lab")
    .description("a simulated air-gapped site on this machine (root): hosts with systemd and sshd on a private bridge");

  const up = lab.command("up").description("build the site from the manifest's hosts and print their state");
  outputFormatOption(withLabOptions(up)).action(async (options: LabOptions) => {
    const status = await labUpFromManifest({ ...options, events: progressEvents() });
    out(options.output === "json" ? JSON.stringify(status, null, 2) : renderStatusTable(status));
  });

  outputFormatOption(
    withLabOptions(lab.command("status").description("print the site's hosts and their state")),
  ).action(printStatus);

  withLabOptions(lab.command("down").description("stop every host and remove the site's namespace and links")).action(
    async (options: LabOptions) => {
      const name = await labNameOf(options.file);
      const state = await openLabState(options);
      const machines = (await readLabState(state))?.hosts ?? [];
      const { stopped } = await labDown(state, progressEvents(), name ? { name } : {});
      out(`lab down: ${stopped} process${stopped === 1 ? "" : "es"} stopped, namespace and links removed`);
      const forgotten = await forgetHostKeys(state, machines);
      if (forgotten > 0) out(`lab down: forgot ${forgotten} pinned host key(s): the next lab up makes new machines`);
    },
  );

  hostVerb(lab, "stop", "shut a host down cleanly", labStop);
  hostVerb(lab, "start", "boot a stopped host again", (state, host, events) => labStart(state, host, events));
  hostVerb(lab, "kill", "cut a host's power: every process dies at once", labKill);
  const power = lab
    .command("power <action> <host>")
    .description("press a network-booting machine's power button: on, off (the plug) or reset");
  withLabOptions(power).action(async (action: string, host: string, options: LabOptions) => {
    if (!isPowerAction(action)) {
      throw new OperatorError(`lab power: unknown action "${action}"`, { hint: "use one of: on, off, reset" });
    }
    await labPower(await openLabState(options), host, action, progressEvents());
    await printStatus(options);
  });
  hostVerb(lab, "partition", "unplug a host from the site's network (it keeps running)", labPartition);
  hostVerb(lab, "heal", "plug a partitioned host back in", labHeal);
  return lab;
}
