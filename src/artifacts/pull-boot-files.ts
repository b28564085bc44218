import { readFile } from "node:fs/promises";
import type { RetryPolicy } from "../concurrency/retry.js";
import type { Events } from "../events.js";
import type { BlobStore } from "../store/blob-store.js";
import { createIndexWriter, findFile, readArtifactIndex } from "./artifact-index.js";
import type { BootCatalog, BootFile } from "./boot-catalog.js";
import { ensureEach, ensureFile, type FetchContext, type PulledFile } from "./fetch-file.js";
import { readSigningKey, type SigningKey, verifyDetachedSignature } from "./openpgp-signature.js";
import { publishRelease } from "./release-artifact.js";

export interface PullBootFilesOptions {
  store: BlobStore;
  catalog: BootCatalog;
  events: Events;
  concurrency?: number;
  retry?: RetryPolicy;
  stallTimeoutMs?: number;
}

/**
 * Brings a boot catalog into the store: the signing key first (accepted only with the pinned
 * fingerprint), then each file with its signature, a signed file recorded only once its signature
 * verifies. Published as one OCI artifact like a distro release, so the registry's garbage
 * collector keeps it and bundles carry it.
 */
export async function pullBootFiles(options: PullBootFilesOptions): Promise<PulledFile[]> {
  const { store, catalog, events } = options;
  const ctx: FetchContext = {
    store,
    events,
    set: catalog.set,
    index: await readArtifactIndex(store.root),
    recordFile: createIndexWriter(store.root),
    ...(options.retry === undefined ? {} : { retry: options.retry }),
    ...(options.stallTimeoutMs === undefined ? {} : { stallTimeoutMs: options.stallTimeoutMs }),
    checkedAgainst: (file) => `${file.name}.sig`,
    localSourceHint: `put the ${catalog.set.distro} files in the folder named as their source, with their upstream names`,
  };

  const pulled: PulledFile[] = [];
  let signer: SigningKey | undefined;
  if (catalog.signingKey) {
    const { file, fingerprint } = catalog.signingKey;
    const keyPulled = await ensureFile(ctx, file, undefined);
    pulled.push(keyPulled);
    signer = await readSigningKey(await readFile(store.blobPath(keyPulled.digest)), fingerprint, file.name);
  }

  const results = await ensureEach(ctx, catalog.files, options.concurrency ?? 4, `${catalog.set.distro} file`, (file) =>
    ensureBootFile(ctx, file, signer),
  );
  pulled.push(...results.flat());

  const recorded = await readArtifactIndex(store.root);
  const names = pulled.map((p) => p.name);
  const records = names.map((name) => findFile(recorded, { ...catalog.set, name })!);
  const release = { ...catalog.set, files: names.map((name) => ({ name })) };
  await ctx.recordFile({ releases: [await publishRelease(store, release, records)] });
  return pulled;
}

/**
 * A signed file and its signature are recorded only together and only once the signature
 * verifies, so a broken mirror's signature is never pinned and an unsigned file never named.
 */
async function ensureBootFile(
  ctx: FetchContext,
  file: BootFile,
  signer: SigningKey | undefined,
): Promise<PulledFile[]> {
  const signatureFile = file.signature;
  if (!signatureFile) return [await ensureFile(ctx, file, undefined)];
  if (!signer) throw new Error(`${file.name} is signed but its catalog names no signing key`);
  const checkAgainst = (fileBlob: string) => async (signatureBlob: string) =>
    verifyDetachedSignature(fileBlob, await readFile(signatureBlob), signer, file.name);
  const ensureSignature = async (fileBlob: string) => {
    const pulled = await ensureFile(ctx, signatureFile, undefined, checkAgainst(fileBlob));
    // A signature already in the store was checked against the file then, not against this one.
    if (pulled.outcome === "present") await checkAgainst(fileBlob)(ctx.store.blobPath(pulled.digest));
    return pulled;
  };
  let signature: PulledFile | undefined;
  const verified = await ensureFile(ctx, file, undefined, async (fileBlob) => {
    signature = await ensureSignature(fileBlob);
  });
  signature ??= await ensureSignature(ctx.store.blobPath(verified.digest));
  return [verified, signature];
}
