import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Command } from "commander";
import { UsageError } from "../errors.js";
import { generateSite } from "../render/generate-site.js";
import { IN_CLUSTER_DIR } from "../render/in-cluster/kustomize.js";
import { builtInTemplate, PXE_ROLES, templateName } from "../render/pxe/builtin-templates.js";
import { MATCHBOX_DIR } from "../render/pxe/pxe-files.js";
import { manifestOption, planFromManifestFile } from "./common.js";
import { out } from "./terminal.js";

interface GenerateFlags {
  file: string;
  outputDir?: string;
  templates?: string;
  nodeBinary?: string;
  exportTemplates?: string;
  dataDisk?: boolean;
}

export function registerGenerate(program: Command): Command {
  const command = program
    .command("generate")
    .description(
      "write every host's files (distro config, registries.yaml, units) and, with PXE, the Matchbox folder (profiles, groups, Ignition) into a folder",
    );
  manifestOption(command);
  return command
    .option("-o, --output-dir <dir>", "folder to write; replaced as a whole on every run")
    .option(
      "--templates <dir>",
      "folder of Ignition templates replacing built-in ones by name (default: spec.provisioning.pxe.templates)",
    )
    .option(
      "--node-binary <file>",
      "the airstrap executable the hosts will fetch, to pin its SHA-256 (default: this one, or dist/airstrap-linux-<arch>)",
    )
    .option(
      "--export-templates <dir>",
      "write the built-in Ignition templates into a new folder, to start overrides from",
    )
    .option(
      "--data-disk",
      "with --export-templates: the templates of hosts with a data disk (dataDisk in the manifest: formatted and mounted at /var/lib)",
    )
    .action(async (flags: GenerateFlags) => {
      if (flags.exportTemplates !== undefined) return exportTemplates(flags.exportTemplates, flags.dataDisk === true);
      if (flags.outputDir === undefined)
        throw new UsageError("generate needs -o DIR", { hint: "airstrap generate -o generated" });
      const { plan, state, loaded } = await planFromManifestFile(flags.file);
      const { count, executable } = await generateSite({
        plan,
        state,
        manifestDir: loaded.dir,
        outputDir: flags.outputDir,
        ...(flags.templates === undefined ? {} : { templates: flags.templates }),
        ...(flags.nodeBinary === undefined ? {} : { nodeBinary: flags.nodeBinary }),
        manifestText: loaded.text,
      });
      out(`in-cluster objects (Kustomize): ${join(flags.outputDir, IN_CLUSTER_DIR)}`);
      out(
        `wrote ${count} files for ${plan.hosts.length} hosts to ${flags.outputDir} (files holding the join token are mode 0600; the token itself is in ${state.file("token")})`,
      );
      if (plan.pxe)
        out(
          `PXE: ${plan.pxe.hosts.length} hosts boot from ${plan.pxe.bootUrl}; Matchbox data in ${join(flags.outputDir, MATCHBOX_DIR)}${executable ? "" : " (the executable's SHA-256 is not pinned: no executable found; build one with make dist or name it with --node-binary)"}`,
        );
    });
}

async function exportTemplates(dir: string, dataDisk: boolean): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const role of PXE_ROLES) {
    try {
      await writeFile(join(dir, templateName(role)), builtInTemplate(role, { dataDisk }), { flag: "wx", mode: 0o644 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EEXIST")
        throw new UsageError(`${join(dir, templateName(role))} exists already`, { hint: "export into a new folder" });
      throw error;
    }
  }
  out(
    `wrote ${PXE_ROLES.map(templateName).join(", ")} to ${dir}; edit them and name the folder with --templates or spec.provisioning.pxe.templates`,
  );
}
