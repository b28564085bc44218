import type { Command } from "commander";
import { readArtifactIndex } from "../artifacts/artifact-index.js";
import { createBundle } from "../artifacts/bundle/create.js";
import { formatBytes, loadBundle } from "../artifacts/bundle/load.js";
import { loadOrCreateSigningKey, parsePublicKey } from "../artifacts/bundle/signing.js";
import { readBaseIndex } from "../artifacts/bundle/since.js";
import { parseSize } from "../artifacts/bundle/size.js";
import { verifyBundle } from "../artifacts/bundle/verify.js";
import { artifactsFromPlan, contentFor } from "../artifacts/plan-artifacts.js";
import { attachProgressView } from "../artifacts/progress-view.js";
import { defaultStoreDir } from "../artifacts/store-location.js";
import { createEvents } from "../events.js";
import { STATE_DIR_NAME, stateDirBeside } from "../state/state-dir.js";
import { openBlobStore } from "../store/blob-store.js";
import { manifestOption, planFromManifestFile } from "./common.js";
import { err, out } from "./terminal.js";

export function registerBundle(program: Command): Command {
  const bundle = program.command("bundle").description("carry the store across the air gap as one signed file");
  manifestOption(bundle.command("create"))
    .description("write the artifacts the cluster needs as one signed bundle (or parts)")
    .requiredOption("-o, --output <file>", "bundle file (parts are FILE.part000, FILE.part001, …)")
    .option("--split <size>", "cut into parts of this size, e.g. 4095M for FAT32")
    .option("--since <old>", "differential: leave out what this earlier bundle (or its .index.json) carried")
    .option("--store <dir>", "artifact store (default: .airstrap/store beside the manifest)")
    .action(async (flags: { file: string; output: string; split?: string; since?: string; store?: string }) => {
      const partSize = flags.split === undefined ? undefined : parseSize(flags.split);
      const site = await planFromManifestFile(flags.file);
      const store = await openBlobStore(flags.store ?? defaultStoreDir(flags.file));
      const content = contentFor(artifactsFromPlan(site.plan, site.loaded.dir), await readArtifactIndex(store.root));
      const since = flags.since === undefined ? undefined : await readBaseIndex(flags.since);
      const signingKey = await loadOrCreateSigningKey(stateDirBeside(flags.file));
      const events = createEvents();
      const detach = attachProgressView(events, process.stderr);
      try {
        const created = await createBundle({
          store,
          output: flags.output,
          ...(partSize === undefined ? {} : { partSize }),
          ...(since === undefined ? {} : { since }),
          content,
          manifest: { file: site.loaded.file, text: site.loaded.text, cluster: site.plan.name },
          signingKey,
          events,
        });
        detach();
        for (const part of created.parts) out(`${part.path}  ${formatBytes(part.size)}`);
        out(
          `${created.entries} blobs, ${formatBytes(created.carriedBytes)}${since ? `; ${created.skippedFromBase} left out (carried by the base bundle)` : ""}`,
        );
        out(`index ${created.indexDigest}`);
        out(`signed by ${created.publicKey} (${created.fingerprint})`);
        out(`on the other side: airstrap bundle verify ${flags.output} --key ${created.publicKey}`);
      } finally {
        detach();
      }
    });
  bundle
    .command("verify")
    .description("check every byte of a bundle against its signed index; names the entry and part that is bad")
    .argument("<file...>", "the bundle, FILE.part000, or every part")
    .option("--key <pub>", "the public key printed by bundle create (ed25519:…) or a file holding it")
    .action(async (files: string[], flags: { key?: string }) => {
      const key = flags.key === undefined ? undefined : await parsePublicKey(flags.key);
      const events = createEvents();
      const detach = attachProgressView(events, process.stderr);
      try {
        const result = await verifyBundle(files, key, events);
        detach();
        const index = result.head.index;
        out(`ok: ${result.parts.length} part(s), ${formatBytes(result.bytes)}, ${index.entries.length} blobs verified`);
        out(
          `cluster ${index.manifest.cluster} (${index.manifest.file} sha256 ${index.manifest.sha256}), made by airstrap ${index.tool.version} at ${index.createdAt}`,
        );
        if (index.base) out(`differential: needs the bundle with index ${index.base.index} loaded first`);
        reportSigner(result.keyChecked, result.head.fingerprint);
      } finally {
        detach();
      }
    });
  bundle
    .command("load")
    .description("verify and unpack a bundle straight into the store (resumes after an interruption)")
    .argument("<file...>", "the bundle, FILE.part000, or every part")
    .option("--store <dir>", "artifact store", `${STATE_DIR_NAME}/store`)
    .option("--key <pub>", "the public key printed by bundle create (ed25519:…) or a file holding it")
    .action(async (files: string[], flags: { store: string; key?: string }) => {
      const key = flags.key === undefined ? undefined : await parsePublicKey(flags.key);
      const store = await openBlobStore(flags.store);
      const events = createEvents();
      const detach = attachProgressView(events, process.stderr);
      try {
        const result = await loadBundle(files, store, key, events);
        detach();
        out(
          `loaded into ${flags.store}: ${result.loaded} blobs written, ${result.resumed} resumed from an earlier run, ${result.alreadyPresent} already present`,
        );
        out(`${result.head.index.files.length} release files and ${result.head.index.images.length} images recorded`);
        reportSigner(result.keyChecked, result.head.fingerprint);
      } finally {
        detach();
      }
    });
  return bundle;
}

function reportSigner(checked: boolean, fingerprint: string): void {
  if (checked) out(`signature: good, by the trusted key ${fingerprint}`);
  else
    err(`warning: signature is intact, by key ${fingerprint}, but no --key was given to say whose key that should be`);
}
