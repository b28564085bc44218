import { readFile } from "node:fs/promises";
import type { BlobStore } from "../store/blob-store.js";
import { openRepositories } from "../store/repositories.js";
import {
  type FileRecord,
  findFile,
  findImage,
  findRelease,
  type ReleaseRecord,
  readArtifactIndex,
} from "./artifact-index.js";
import { bootCatalogFiles } from "./boot-catalog.js";
import { fluxImagesInStore } from "./flux-artifacts.js";
import type { NeededArtifacts } from "./plan-artifacts.js";
import { parseSumsFile } from "./sums.js";

export interface ArtifactProblem {
  what: string;
  problem: "missing" | "corrupt" | "mismatch";
  detail: string;
}

export interface CheckReport {
  ok: string[];
  problems: ArtifactProblem[];
}

/**
 * Re-hashes everything the cluster needs from the store and says what is missing or corrupt.
 * Release files are checked against the stored sums file too, not only against their own names.
 */
export async function checkArtifacts(store: BlobStore, needed: NeededArtifacts): Promise<CheckReport> {
  const index = await readArtifactIndex(store.root);
  const ok: string[] = [];
  const problems: ArtifactProblem[] = [];
  /** True when the record's blob is there and hashes right; otherwise says what is wrong. */
  const blobHealthy = async (record: FileRecord) => {
    if (await store.verify(record.digest)) return true;
    const present = await store.has(record.digest);
    problems.push({
      what: record.name,
      problem: present ? "corrupt" : "missing",
      detail: present
        ? `blob ${record.digest} no longer matches its digest`
        : `blob ${record.digest} is gone from the store`,
    });
    return false;
  };
  const repositories = openRepositories(store);
  const checkPublished = async (release: ReleaseRecord | undefined, what: string) => {
    if (!release) {
      problems.push({ what, problem: "missing", detail: "not published in the store's repositories" });
      return;
    }
    const served = await repositories.getManifest(release.repository, release.tag);
    if (!served || served.digest !== release.digest || !(await store.verify(release.digest))) {
      problems.push({
        what,
        problem: "mismatch",
        detail: `${release.repository}:${release.tag} does not resolve to ${release.digest}`,
      });
    } else {
      ok.push(`${release.repository}:${release.tag} ${release.digest}`);
    }
  };

  for (const catalog of needed.flux ? [needed.catalog, needed.flux] : [needed.catalog]) {
    const key = (name: string) => ({ distro: catalog.distro, version: catalog.version, arch: catalog.arch, name });
    const sumsRecord = findFile(index, key(catalog.sumsFile.name));
    let sums: Map<string, string> | undefined;
    if (sumsRecord && (await store.verify(sumsRecord.digest))) {
      sums = parseSumsFile(await readFile(store.blobPath(sumsRecord.digest), "utf8"), catalog.sumsFile.name);
    }
    for (const file of catalog.files) {
      const record = findFile(index, key(file.name));
      if (!record) {
        problems.push({ what: file.name, problem: "missing", detail: `not pulled (from ${file.location})` });
        continue;
      }
      if (!(await blobHealthy(record))) continue;
      const expected = file.verification === "sums" ? sums?.get(file.name) : record.digest;
      if (file.verification === "sums" && expected !== record.digest) {
        problems.push({
          what: file.name,
          problem: "mismatch",
          detail: expected
            ? `stored ${record.digest}, ${catalog.sumsFile.name} says ${expected}`
            : `${catalog.sumsFile.name} is missing or does not list it`,
        });
        continue;
      }
      ok.push(`${file.name} ${record.digest}`);
    }
    await checkPublished(findRelease(index, key("")), `${catalog.distro} ${catalog.version} release artifact`);
  }
  for (const boot of needed.boot) {
    for (const file of bootCatalogFiles(boot)) {
      const record = findFile(index, { ...boot.set, name: file.name });
      if (!record) problems.push({ what: file.name, problem: "missing", detail: `not pulled (from ${file.location})` });
      else if (await blobHealthy(record)) ok.push(`${file.name} ${record.digest}`);
    }
    await checkPublished(findRelease(index, boot.set), `${boot.set.distro} ${boot.set.version} boot artifact`);
  }
  // Flux's images are the ones its stored install.yaml names; a missing install.yaml is reported above.
  const fluxImages = needed.flux ? await fluxImagesInStore(store, needed.flux).catch(() => []) : [];
  for (const reference of [...needed.images, ...fluxImages]) {
    const record = findImage(index, reference, needed.arch);
    if (!record) {
      problems.push({ what: reference, problem: "missing", detail: `not pulled for linux/${needed.arch}` });
      continue;
    }
    const broken: string[] = [];
    for (const digest of [...record.manifests.map((m) => m.digest), ...record.blobs]) {
      if (!(await store.verify(digest))) broken.push(digest);
    }
    const served = await repositories.getManifest(record.repository, record.tag ?? record.digest);
    if (broken.length > 0) {
      problems.push({
        what: reference,
        problem: "corrupt",
        detail: `${broken.length} blob(s) missing or corrupt, first ${broken[0]}`,
      });
    } else if (!served || served.digest !== record.digest) {
      problems.push({
        what: reference,
        problem: "mismatch",
        detail: `repository ${record.repository} does not serve ${record.digest}`,
      });
    } else {
      ok.push(`${reference} ${record.digest}`);
    }
  }
  return { ok, problems };
}
