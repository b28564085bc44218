import type { Command } from "commander";
import { UsageError } from "../errors.js";
import { probeBackend } from "../services/lb/probe.js";
import { err } from "./terminal.js";

/**
 * `airstrap probe URL`: one HTTP(S) GET, exit 0 when the status is expected. Runs on nodes from the
 * single-file executable, so readiness checks need no curl on the host.
 */
export function registerProbe(program: Command): Command {
  return program
    .command("probe")
    .description("GET a URL once; exit 0 when it answers with an expected status (for readiness checks on nodes)")
    .argument("<url>", "http:// or https:// URL")
    .option("--expect <status...>", "statuses that count as success", ["200"])
    .option("--insecure", "do not verify the server certificate (it asks 'alive?', not 'who?')")
    .option("--ca <file>", "verify the server certificate against this CA")
    .option("--timeout <ms>", "give up after this long", "3000")
    .action(async (text: string, options: { expect: string[]; insecure?: boolean; ca?: string; timeout: string }) => {
      let url: URL;
      try {
        url = new URL(text);
      } catch {
        throw new UsageError(`not a URL: ${text}`);
      }
      if (url.protocol !== "http:" && url.protocol !== "https:")
        throw new UsageError(`only http and https URLs: ${text}`);
      if (url.protocol === "https:" && !options.insecure && !options.ca)
        throw new UsageError("https needs --ca FILE or --insecure");
      const tls = url.protocol === "https:";
      const result = await probeBackend(
        { address: url.hostname.replace(/^\[|\]$/g, ""), port: Number(url.port || (tls ? 443 : 80)) },
        {
          intervalMs: 0,
          rise: 1,
          fall: 1,
          timeoutMs: Number(options.timeout),
          http: {
            path: `${url.pathname}${url.search}`,
            expectStatus: options.expect.map(Number),
            tls,
            ...(options.ca ? { caFile: options.ca } : {}),
          },
        },
      );
      if (!result.ok) {
        err(`${text}: ${result.reason ?? "failed"}`);
        process.exitCode = 1;
      }
    });
}
