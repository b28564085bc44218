import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { OperatorError } from "../errors.js";
import { createEvents } from "../events.js";
import { replicateFrom } from "../services/registry/replicate.js";
import { openBlobStore } from "../store/blob-store.js";
import { openRepositories } from "../store/repositories.js";
import { out } from "./terminal.js";

/** `airstrap registry replicate`: one copy run from another registry into a store (how install seeds a replica). */
export function registerRegistryReplicate(registry: Command): Command {
  return registry
    .command("replicate")
    .description("copy every image and release another registry holds into a store, once (resumable: run it again)")
    .requiredOption("--root <dir>", "store root to copy into")
    .requiredOption("--from <url>", "the registry to copy from, https://host:port")
    .option("--trust-ca <file>", "CA (PEM) the other registry's certificate chains to")
    .action(async (flags: { root: string; from: string; trustCa?: string }) => {
      const repos = openRepositories(await openBlobStore(flags.root));
      const report = await replicateFrom(repos, flags.from, {
        events: createEvents(),
        ...(flags.trustCa ? { ca: await readFile(flags.trustCa) } : {}),
      }).catch((error: Error) => {
        if (error instanceof OperatorError) throw error;
        throw new OperatorError(`copying from ${flags.from} failed: ${error.message}`, {
          hint: "check that the registry is reachable and its certificate chains to --trust-ca; what arrived is kept, so run it again",
        });
      });
      out(
        `${report.repositories} repositories: ${report.tagsUpdated} tag(s) updated, ${report.tagsKept} kept; ${report.blobsCopied} blob(s), ${report.bytesCopied} bytes copied`,
      );
    });
}
