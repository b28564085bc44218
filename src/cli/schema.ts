import { writeFile } from "node:fs/promises";
import type { Command } from "commander";
import { manifestJsonSchema } from "../manifest/json-schema.js";
import { out } from "./terminal.js";

export function registerSchema(program: Command): Command {
  return program
    .command("schema")
    .description("print the JSON Schema of cluster.yaml (for editors: yaml-language-server)")
    .option("-o, --output-file <file>", "write it to a file instead of stdout")
    .action(async (options: { outputFile?: string }) => {
      const text = `${JSON.stringify(manifestJsonSchema(), null, 2)}\n`;
      if (options.outputFile) await writeFile(options.outputFile, text);
      else out(text);
    });
}
