import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { createBundle } from "../../../src/artifacts/bundle/create.js";
import { formatPublicKey, loadOrCreateSigningKey } from "../../../src/artifacts/bundle/signing.js";
import { silentEvents } from "../../../src/events.js";
import { notOnThisMachine } from "../../helpers/skip.js";
import { addFile, newStore, random, tempDir } from "./fixtures.js";

const run = promisify(execFile);
const MAIN = join(import.meta.dirname, "../../../src/cli/main.ts");
const TSX = import.meta.resolve("tsx");

async function canMountTmpfs(): Promise<boolean> {
  try {
    await run("unshare", ["-m", "--propagation", "private", "sh", "-c", "mount -t tmpfs -o size=1m tmpfs /mnt"]);
    return true;
  } catch {
    return false;
  }
}

/** Loads `bundle` into a store on a fresh 96 MiB tmpfs in a private mount namespace; returns the CLI's exit and output. */
async function loadOnSmallDisk(bundle: string, key: string, mountpoint: string) {
  const script = `mount -t tmpfs -o size=96m tmpfs "$1" && "$2" --import "$3" "$4" bundle load "$5" --key "$6" --store "$1/store"; echo "exit=$?"; ls -A "$1/store/blobs/sha256" 2>/dev/null | wc -l`;
  const { stdout, stderr } = await run("unshare", [
    "-m",
    "--propagation",
    "private",
    "sh",
    "-c",
    script,
    "sh",
    mountpoint,
    process.execPath,
    TSX,
    MAIN,
    bundle,
    key,
  ]);
  return { stdout, stderr };
}

test("bundle load refuses, before writing anything, when the store's filesystem lacks the space", async (t) => {
  if (!(await canMountTmpfs())) {
    t.skip(notOnThisMachine("needs permission to create a mount namespace with a tmpfs (root)"));
    return;
  }
  const dir = await tempDir(t, "free-space");
  const key = await loadOrCreateSigningKey(join(dir, "state"));
  const pub = formatPublicKey(key.publicKey);
  const make = async (name: string, mib: number) => {
    const store = await newStore(t, name);
    const files = [await addFile(store, "k3s", random(mib * 1024 * 1024))];
    const output = join(dir, `${name}.bundle`);
    await createBundle({
      store,
      output,
      content: { files, images: [] },
      manifest: { file: "c.yaml", text: "", cluster: name },
      signingKey: key,
      events: silentEvents,
    });
    return output;
  };
  const mountpoint = join(dir, "disk");
  await mkdir(mountpoint);

  const big = await loadOnSmallDisk(await make("big", 40), pub, mountpoint);
  assert.match(
    big.stderr,
    /error: not enough free space in .*\/store: the bundle needs 104\.0 MiB, 9\d\.\d MiB available/,
  );
  assert.match(big.stderr, /hint: free space on that filesystem or load into another store with --store DIR/);
  assert.match(big.stdout, /exit=1\n0\n$/, "no blob was written");

  const small = await loadOnSmallDisk(await make("small", 8), pub, mountpoint);
  assert.match(small.stdout, /loaded into .*: 1 blobs written/);
  assert.match(small.stdout, /exit=0\n1\n$/);
});
