import type { Command } from "commander";
import { checkArtifacts } from "../artifacts/check.js";
import { artifactsFromPlan } from "../artifacts/plan-artifacts.js";
import { attachProgressView } from "../artifacts/progress-view.js";
import { pullArtifacts } from "../artifacts/pull.js";
import { defaultStoreDir } from "../artifacts/store-location.js";
import { UsageError } from "../errors.js";
import { createEvents } from "../events.js";
import { openBlobStore } from "../store/blob-store.js";
import { manifestOption, planFromManifestFile } from "./common.js";
import { colorsFor, out } from "./terminal.js";

interface Flags {
  file: string;
  store?: string;
  concurrency: string;
}

export function registerArtifacts(program: Command): Command {
  const artifacts = program.command("artifacts").description("distro release files and images that cross the air gap");
  manifestOption(artifacts.command("pull"))
    .description(
      "download the release files and images the cluster needs into the store (resumes, verifies, skips what is there)",
    )
    .option("--store <dir>", "artifact store (default: .airstrap/store beside the manifest)")
    .option("--concurrency <n>", "parallel transfers", "4")
    .action(async (flags: Flags) => {
      const concurrency = Number(flags.concurrency);
      if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 32) {
        throw new UsageError(`--concurrency ${flags.concurrency}: expected 1 to 32`);
      }
      const site = await planFromManifestFile(flags.file);
      const events = createEvents();
      const detach = attachProgressView(events, process.stderr);
      try {
        const storeRoot = flags.store ?? defaultStoreDir(flags.file);
        const result = await pullArtifacts(storeRoot, artifactsFromPlan(site.plan, site.loaded.dir), events, {
          concurrency,
        });
        const fetched =
          result.files.filter((f) => f.outcome !== "present").length +
          result.images.filter((i) => i.outcome === "pulled").length;
        const transferred = result.files.reduce((sum, f) => sum + f.transferred, 0);
        out(
          `${result.files.length} release files and ${result.images.length} images in ${storeRoot}: ${fetched} fetched (${transferred} bytes of files), the rest already present and verified`,
        );
      } finally {
        detach();
      }
    });
  manifestOption(artifacts.command("check"))
    .description("say what the cluster needs that is missing or corrupt in the store; exit 1 if anything is")
    .option("--store <dir>", "artifact store (default: .airstrap/store beside the manifest)")
    .action(async (flags: Omit<Flags, "concurrency">) => {
      const site = await planFromManifestFile(flags.file);
      const storeRoot = flags.store ?? defaultStoreDir(flags.file);
      const report = await checkArtifacts(
        await openBlobStore(storeRoot),
        artifactsFromPlan(site.plan, site.loaded.dir),
      );
      const c = colorsFor(process.stdout);
      for (const line of report.ok) out(`${c.green("ok")}       ${line}`);
      for (const p of report.problems) out(`${c.red(p.problem.padEnd(8))} ${p.what}: ${p.detail}`);
      if (report.problems.length > 0) {
        const storeFlag = flags.store === undefined ? "" : ` --store ${flags.store}`;
        out(
          `${report.problems.length} problem(s); fetch what is missing or corrupt with: airstrap artifacts pull -f ${flags.file}${storeFlag}`,
        );
        process.exitCode = 1;
      } else {
        out(`everything the cluster needs is in ${storeRoot} and verified`);
      }
    });
  return artifacts;
}
