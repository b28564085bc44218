import { createReadStream } from "node:fs";
import { pipeline } from "node:stream/promises";
import { extract } from "tar-stream";
import { OperatorError } from "../errors.js";

/** The names a docker-archive gives its images (manifest.json's RepoTags), e.g. airstrap/airstrap:1.2.3. */
export async function archiveRepoTags(file: string): Promise<string[]> {
  const reader = extract();
  let manifest: Buffer | undefined;
  const done = pipeline(createReadStream(file, { highWaterMark: 1 << 20 }), reader);
  for await (const entry of reader) {
    if (entry.header.name.replace(/^\.\//, "") !== "manifest.json") {
      entry.resume();
      continue;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk as Buffer);
    manifest = Buffer.concat(chunks);
  }
  await done.catch((error: Error) => {
    throw new OperatorError(`${file}: not a readable tar archive (${error.message})`);
  });
  try {
    const entries = JSON.parse(manifest?.toString("utf8") ?? "") as Array<{ RepoTags?: string[] | null }>;
    return entries.flatMap((entry) => entry.RepoTags ?? []);
  } catch {
    throw new OperatorError(`${file}: no docker-archive manifest.json`, { hint: "build the image with make image" });
  }
}
