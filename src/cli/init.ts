import { writeFile } from "node:fs/promises";
import type { Command } from "commander";
import { OperatorError, UsageError } from "../errors.js";
import { MANIFEST_TEMPLATE } from "../manifest/template.js";
import { DEFAULT_MANIFEST } from "./common.js";
import { type InitFlags, runInit } from "./init-run.js";
import { installOptions } from "./install.js";
import { out } from "./terminal.js";

/**
 * `airstrap init -f cluster.yaml`: seed 003's bare-metal flow, from power-on to kubeconfig (see
 * init-run.ts). `airstrap init --example [file]` writes a commented example manifest to start from.
 */
export function registerInit(program: Command): Command {
  const command = program
    .command("init")
    .description(
      "bring a bare-metal site up from power-on: serve PXE, boot every machine, install, wait until Ready, save the kubeconfig, tear the boot services down (--example: write an example manifest)",
    );
  return installOptions(command)
    .option("--example [file]", `write a commented example cluster manifest (default ${DEFAULT_MANIFEST}) and stop`)
    .option("--force", "with --example: overwrite an existing file")
    .option(
      "--templates <dir>",
      "Ignition templates replacing built-in ones (default: spec.provisioning.pxe.templates)",
    )
    .option(
      "--power-on <command>",
      "run this shell command once per machine to power it on (AIRSTRAP_HOST, AIRSTRAP_MAC, AIRSTRAP_ADDRESS, AIRSTRAP_ROLE in its environment) instead of asking",
    )
    .option(
      "--timeout <seconds>",
      "give up when the machines (and, with stages, the stages) are not all Ready after this long",
      "1800",
    )
    .option("--age-key <file>", "with spec.stages: the age key file for the sops-age Secret (gitops bootstrap)")
    .action(async (flags: InitFlags & { example?: string | true; force?: boolean }) => {
      if (flags.example !== undefined)
        return writeExample(flags.example === true ? DEFAULT_MANIFEST : flags.example, flags.force === true);
      if (flags.dryRun) {
        throw new UsageError("airstrap init boots machines: it has no --dry-run", {
          hint: "see what the boot services would serve with airstrap generate, and the install with airstrap install --dry-run",
        });
      }
      process.exitCode = await runInit(flags);
    });
}

async function writeExample(file: string, force: boolean): Promise<void> {
  try {
    await writeFile(file, MANIFEST_TEMPLATE, { flag: force ? "w" : "wx", mode: 0o644 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST")
      throw new OperatorError(`${file} already exists`, {
        hint: "pass --force to overwrite it, or name another file",
      });
    throw error;
  }
  out(`wrote ${file}; edit the hosts and addresses, then run: airstrap validate -f ${file}`);
}
