import type { Command } from "commander";
import { checkManifestFile } from "../manifest/load.js";
import { manifestOption, outputFormatOption } from "./common.js";
import { out } from "./terminal.js";
import { formatDiagnostics } from "./views/diagnostics.js";

export function registerValidate(program: Command): Command {
  const command = program
    .command("validate")
    .description("check a cluster manifest: every problem at once, with line and column");
  manifestOption(command);
  outputFormatOption(command);
  return command.action(async (options: { file: string; output: "text" | "json" }) => {
    const { manifest, diagnostics, text } = await checkManifestFile(options.file);
    const errors = diagnostics.filter((d) => d.severity === "error").length;
    if (options.output === "json") {
      out(JSON.stringify({ file: options.file, valid: manifest !== undefined, diagnostics }, null, 2));
    } else {
      if (diagnostics.length > 0) out(formatDiagnostics(diagnostics, { file: options.file, text }, process.stdout));
      if (manifest) {
        const servers = manifest.hosts.filter((h) => h.role === "server").length;
        out(
          `${options.file} is valid: ${servers} server${servers === 1 ? "" : "s"}, ${manifest.hosts.length - servers} agent${manifest.hosts.length - servers === 1 ? "" : "s"}, ${manifest.distro.name} ${manifest.distro.version} (${manifest.distro.arch})`,
        );
      } else {
        out(`${options.file}: ${errors} error${errors === 1 ? "" : "s"}`);
      }
    }
    process.exitCode = manifest ? 0 : 1;
  });
}
