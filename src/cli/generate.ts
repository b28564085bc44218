import type { Command } from "commander";
import { renderHostFiles } from "../render/host-files.js";
import { writeGeneratedTree } from "../render/write-tree.js";
import { generateToken } from "../state/state-dir.js";
import { manifestOption, planFromManifestFile } from "./common.js";
import { out } from "./terminal.js";

export function registerGenerate(program: Command): Command {
  const command = program
    .command("generate")
    .description("write every host's files (distro config, registries.yaml, units) into a folder");
  manifestOption(command);
  return command
    .requiredOption("-o, --output-dir <dir>", "folder to write; replaced as a whole on every run")
    .action(async (options: { file: string; outputDir: string }) => {
      const { plan, state } = await planFromManifestFile(options.file);
      const token = await state.ensureSecret("token", generateToken);
      const files = renderHostFiles(plan, { token });
      const count = await writeGeneratedTree(options.outputDir, plan, files);
      out(
        `wrote ${count} files for ${plan.hosts.length} hosts to ${options.outputDir} (files holding the join token are mode 0600; the token itself is in ${state.file("token")})`,
      );
    });
}
