import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { buildImage } from "../../src/image/build.js";
import { imageTagFor } from "../../src/image/image-config.js";
import { VERSION } from "../../src/version.js";

/**
 * A small image named as `make image` names airstrap's for this version (its "executable" is a
 * script): for tests of carrying the image, not of running it.
 */
export async function smallAirstrapImage(dir: string) {
  const executable = join(dir, "airstrap-stand-in");
  await writeFile(executable, "#!/bin/sh\necho stand-in\n", { mode: 0o755 });
  return buildImage({
    executable,
    out: join(dir, "image"),
    repository: "airstrap/airstrap",
    tag: imageTagFor(VERSION),
    labels: { version: VERSION },
    architecture: "amd64",
  });
}
