import { writeFile } from "node:fs/promises";
import type { Command } from "commander";
import { OperatorError } from "../errors.js";
import { MANIFEST_TEMPLATE } from "../manifest/template.js";
import { DEFAULT_MANIFEST } from "./common.js";
import { out } from "./terminal.js";

export function registerInit(program: Command): Command {
  return program
    .command("init")
    .description("write a commented example cluster manifest to start from")
    .argument("[file]", "where to write it", DEFAULT_MANIFEST)
    .option("--force", "overwrite an existing file")
    .action(async (file: string, options: { force?: boolean }) => {
      try {
        await writeFile(file, MANIFEST_TEMPLATE, { flag: options.force ? "w" : "wx", mode: 0o644 });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "EEXIST")
          throw new OperatorError(`${file} already exists`, {
            hint: "pass --force to overwrite it, or name another file",
          });
        throw error;
      }
      out(`wrote ${file}; edit the hosts and addresses, then run: airstrap validate -f ${file}`);
    });
}
