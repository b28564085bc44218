import type { Command } from "commander";
import { createEvents } from "../events.js";
import { runReleaseMirror, runSimDistro } from "../lab/sim-distro/program.js";
import { err } from "./terminal.js";

/**
 * Hidden: the lab's SIMULATED distro (`lab-distro rke2|k3s server|agent [options]`) and release
 * mirror (`lab-distro mirror --root DIR --listen ADDRESS:PORT`). Run by the lab, not by people.
 */
export function registerLabDistro(program: Command): Command {
  return program
    .command("lab-distro", { hidden: true })
    .description("SIMULATION for the lab only: the simulated rke2/k3s program and the lab's release mirror")
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async (_options: unknown, command: Command) => {
      const args = command.args;
      if (args[0] === "mirror") return runReleaseMirror(args.slice(1));
      const events = createEvents();
      events.subscribe((event) =>
        err(`${event.time} ${event.level} ${event.host ? `${event.host}: ` : ""}${event.message} (simulation)`),
      );
      await runSimDistro(args, events);
    });
}
