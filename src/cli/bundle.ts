import type { Command } from "commander";
import { readArtifactIndex } from "../artifacts/artifact-index.js";
import { createBundle } from "../artifacts/bundle/create.js";
import { formatBytes, loadBundle } from "../artifacts/bundle/load.js";
import { keyFingerprint, loadOrCreateSigningKey } from "../artifacts/bundle/signing.js";
import { readBaseIndex } from "../artifacts/bundle/since.js";
import { parseSize } from "../artifacts/bundle/size.js";
import { resolveSignerTrust, type SignerTrust } from "../artifacts/bundle/trust.js";
import { verifyBundle } from "../artifacts/bundle/verify.js";
import { fluxImagesInStore } from "../artifacts/flux-artifacts.js";
import { artifactsFromPlan, contentFor } from "../artifacts/plan-artifacts.js";
import { attachProgressView } from "../artifacts/progress-view.js";
import { defaultStoreDir } from "../artifacts/store-location.js";
import { OperatorError } from "../errors.js";
import { createEvents } from "../events.js";
import { airstrapImageForBundle, imageBesideExecutable } from "../image/in-store.js";
import { findNodeBinary } from "../install/install.js";
import { runningAsSingleExecutable } from "../single-executable.js";
import { STATE_DIR_NAME, stateDirBeside } from "../state/state-dir.js";
import { openBlobStore } from "../store/blob-store.js";
import { VERSION } from "../version.js";
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
    .option(
      "--image <file>",
      "airstrap's image (docker-archive) to carry (default: the store's for this version, else image/ beside the executable)",
    )
    .action(async (flags: CreateFlags) => {
      const partSize = flags.split === undefined ? undefined : parseSize(flags.split);
      const site = await planFromManifestFile(flags.file);
      const signingKey = await loadOrCreateSigningKey(stateDirBeside(flags.file));
      // The other side would refuse a bundle signed with another key than the manifest pins.
      const pinned = site.loaded.manifest.artifacts.signer;
      if (pinned !== undefined && pinned !== keyFingerprint(signingKey.publicKey)) {
        throw new OperatorError(
          `${flags.file}: spec.artifacts.signer is ${pinned}, but ${stateDirBeside(flags.file)} signs with ${keyFingerprint(signingKey.publicKey)}`,
          { hint: "create the bundle with the state dir that holds the pinned key, or pin this key in the manifest" },
        );
      }
      const store = await openBlobStore(flags.store ?? defaultStoreDir(flags.file));
      const needed = artifactsFromPlan(site.plan, site.loaded.dir);
      const fluxImages = needed.flux ? await fluxImagesInStore(store, needed.flux) : [];
      const content = contentFor(needed, await readArtifactIndex(store.root), fluxImages);
      // airstrap's own image goes in every bundle: install takes it from the store on the other side.
      content.images.push(await carriedImage(store.root, site.plan.distro.arch, flags.image));
      const since = flags.since === undefined ? undefined : await readBaseIndex(flags.since);
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
        if (pinned === undefined) {
          out(
            `pin the signer for the other side: under spec.artifacts in ${flags.file}, signer: ${created.fingerprint}`,
          );
        }
        out(`on the other side: airstrap bundle verify ${flags.output} --key ${created.publicKey}`);
      } finally {
        detach();
      }
    });
  trustOptions(bundle.command("verify"))
    .description("check every byte of a bundle against its signed index; names the entry and part that is bad")
    .argument("<file...>", "the bundle, FILE.part000, or every part")
    .action(async (files: string[], flags: TrustFlags) => {
      const trust = await signerTrustFrom(flags);
      const events = createEvents();
      const detach = attachProgressView(events, process.stderr);
      try {
        const result = await verifyBundle(files, trust, events);
        detach();
        const index = result.head.index;
        out(`ok: ${result.parts.length} part(s), ${formatBytes(result.bytes)}, ${index.entries.length} blobs verified`);
        out(
          `cluster ${index.manifest.cluster} (${index.manifest.file} sha256 ${index.manifest.sha256}), made by airstrap ${index.tool.version} at ${index.createdAt}`,
        );
        if (index.base) out(`differential: needs the bundle with index ${index.base.index} loaded first`);
        reportSigner(trust, result.head.fingerprint);
      } finally {
        detach();
      }
    });
  trustOptions(bundle.command("load"))
    .description("verify and unpack a bundle straight into the store (resumes after an interruption)")
    .argument("<file...>", "the bundle, FILE.part000, or every part")
    .option("--store <dir>", "artifact store", `${STATE_DIR_NAME}/store`)
    .action(async (files: string[], flags: TrustFlags & { store: string }) => {
      const trust = await signerTrustFrom(flags);
      const store = await openBlobStore(flags.store);
      const events = createEvents();
      const detach = attachProgressView(events, process.stderr);
      try {
        const result = await loadBundle(files, store, trust, events);
        detach();
        out(
          `loaded into ${flags.store}: ${result.loaded} blobs written, ${result.resumed} resumed from an earlier run, ${result.alreadyPresent} already present`,
        );
        out(`${result.head.index.files.length} release files and ${result.head.index.images.length} images recorded`);
        reportSigner(trust, result.head.fingerprint);
      } finally {
        detach();
      }
    });
  return bundle;
}

interface CreateFlags {
  file: string;
  output: string;
  split?: string;
  since?: string;
  store?: string;
  image?: string;
}

async function carriedImage(storeRoot: string, arch: string, given: string | undefined) {
  let beside: string | undefined;
  try {
    beside = imageBesideExecutable(findNodeBinary(arch, undefined, runningAsSingleExecutable()), arch);
  } catch {
    beside = undefined;
  }
  return airstrapImageForBundle(storeRoot, {
    version: VERSION,
    arch,
    ...(given ? { given } : {}),
    ...(beside ? { beside } : {}),
  });
}

interface TrustFlags {
  file: string;
  key?: string;
  insecureSkipSignature?: boolean;
}

function trustOptions(command: Command): Command {
  return manifestOption(command)
    .option("--key <key>", "the signer's public key (ed25519:…, or a file holding it) or fingerprint (SHA256:…)")
    .option("--insecure-skip-signature", "accept a bundle whoever signed it (integrity only, not origin)");
}

async function signerTrustFrom(flags: TrustFlags): Promise<SignerTrust> {
  const trust = await resolveSignerTrust({
    manifestFile: flags.file,
    ...(flags.key === undefined ? {} : { key: flags.key }),
    ...(flags.insecureSkipSignature ? { insecureSkipSignature: true } : {}),
  });
  if (trust.kind === "any") warnInsecure();
  return trust;
}

function warnInsecure(): void {
  err("WARNING: --insecure-skip-signature: whoever signed this bundle is not checked; anyone could have made it");
}

function reportSigner(trust: SignerTrust, fingerprint: string): void {
  if (trust.kind === "key") out(`signature: good, by the trusted key ${fingerprint} (${trust.source})`);
  else {
    warnInsecure();
    err(`WARNING: it is signed by key ${fingerprint}; compare that with what bundle create printed`);
  }
}
