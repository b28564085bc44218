import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { AIRSTRAP_IMAGE_REPOSITORY, findAirstrapImage } from "../../src/image/in-store.js";
import { VERSION as AIRSTRAP_VERSION } from "../../src/version.js";
import { smallAirstrapImage } from "../helpers/airstrap-image.js";
import { runAirstrap } from "../helpers/cli.js";
import { soloSiteOverSsh } from "../helpers/solo-site.js";

test("airstrap's image travels in the bundle: create carries it, load puts it in the store, install takes it from there; a changed byte of it fails verification", async (t) => {
  const site = await soloSiteOverSsh(t);
  if ("skip" in site) return t.skip(site.skip);
  const { dir } = site;
  const image = await smallAirstrapImage(dir);

  // Without an image anywhere, a bundle is refused: every bundle carries one.
  const refused = await runAirstrap(["bundle", "create", "-o", "none.bundle", "--store", "store"], { cwd: dir });
  assert.equal(refused.code, 1, refused.stdout);
  assert.match(refused.stderr, /no airstrap image docker\.io\/airstrap\/airstrap:\S+ for amd64 to carry/);

  const created = await runAirstrap(
    ["bundle", "create", "-o", "site.bundle", "--store", "store", "--image", image.archive],
    { cwd: dir },
  );
  assert.equal(created.code, 0, created.stderr);
  const key = /signed by (ed25519:\S+)/.exec(created.stdout)?.[1];
  assert.ok(key, created.stdout);
  const index = JSON.parse(await readFile(join(dir, "site.bundle.index.json"), "utf8"));
  const carried = index.images.find((i: { repository: string }) => i.repository === AIRSTRAP_IMAGE_REPOSITORY);
  assert.equal(carried?.digest, image.digest, "the bundle's index pins the built image's digest");

  const loaded = await runAirstrap(["bundle", "load", "site.bundle", "--key", key, "--store", "other"], { cwd: dir });
  assert.equal(loaded.code, 0, loaded.stderr);
  const inStore = await findAirstrapImage(join(dir, "other"), AIRSTRAP_VERSION, "amd64");
  assert.equal(inStore?.digest, image.digest);

  // Install on the far side (a dry run over real SSH): no --image, no build; the store's image is pre-loaded.
  await writeFile(join(dir, "node-binary"), "#!/bin/sh\n");
  const install = await runAirstrap(
    ["install", "--dry-run", "--output", "json", "--store", "other", "--node-binary", join(dir, "node-binary")],
    { cwd: dir },
  );
  assert.equal(install.code, 0, install.stderr);
  const events = install.stdout
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as { kind: string; message: string });
  assert.ok(!events.some((e) => e.kind === "install.image.absent"), "install found the image in the store");
  const planned = events.filter((e) => e.kind === "install.change.planned").map((e) => e.message);
  assert.ok(
    planned.some((m) => m.includes("airstrap-image-linux-amd64.tar") || m.includes("airstrap's image")),
    planned.join("\n"),
  );
  assert.ok(
    planned.some((m) => m.includes("airstrap-node-agent.yaml")),
    planned.join("\n"),
  );

  // One changed byte in the image's layer, inside the bundle: verify and load name the image.
  const config = JSON.parse(await configOf(image.layoutDir)).digest;
  const layer = (carried.blobs as string[]).find((d) => d !== config)!;
  const bytes = await readFile(join(dir, "site.bundle"));
  // The last mention is the entry's tar header (the signed index names it first).
  const header = bytes.lastIndexOf(`blobs/sha256/${layer.slice(7)}`);
  assert.ok(header >= 0, "the layer is an entry of the bundle");
  bytes[header + 512 + 100] = bytes[header + 512 + 100]! ^ 1;
  await writeFile(join(dir, "site.bundle"), bytes);
  const verify = await runAirstrap(["bundle", "verify", "site.bundle", "--key", key], { cwd: dir });
  assert.equal(verify.code, 1, verify.stdout);
  assert.match(verify.stderr, /part of image docker\.io\/airstrap\/airstrap:\S+\) does not match/);
  const reload = await runAirstrap(["bundle", "load", "site.bundle", "--key", key, "--store", "third"], { cwd: dir });
  assert.equal(reload.code, 1, reload.stdout);
  assert.equal(await findAirstrapImage(join(dir, "third"), AIRSTRAP_VERSION, "amd64"), undefined);
});

/** The config descriptor of the layout's one image. */
async function configOf(layoutDir: string): Promise<string> {
  const index = JSON.parse(await readFile(join(layoutDir, "index.json"), "utf8"));
  const manifestHex = (index.manifests[0].digest as string).slice(7);
  const manifest = JSON.parse(await readFile(join(layoutDir, "blobs", "sha256", manifestHex), "utf8"));
  return JSON.stringify(manifest.config);
}
