import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { REPO, runProcess, tempDir } from "../helpers/cli.js";
import { waitFor } from "../helpers/wait-for.js";

// ssh2 instantiates its WebAssembly (poly1305, ~14 MB resident) as soon as it is loaded: a sign
// that the process loaded the whole CLI rather than the registry's verbs.
const NOTE_WEBASSEMBLY = `const instantiate = WebAssembly.instantiate;
WebAssembly.instantiate = (...args) => { process.stderr.write("webassembly instantiated\\n"); return instantiate(...args); };
`;

test("the bundled `registry serve` starts without the rest of the CLI (ssh2 and its WebAssembly stay unloaded)", async (t) => {
  const dir = await tempDir(t, "airstrap-registry-start-");
  const bundle = join(dir, "airstrap.cjs");
  const build = await runProcess(
    process.execPath,
    ["scripts/build.mjs", "--entry", "src/cli/main.ts", "--outfile", bundle],
    { cwd: REPO },
  );
  assert.equal(build.code, 0, build.stderr);
  const preload = join(dir, "note-webassembly.cjs");
  await writeFile(preload, NOTE_WEBASSEMBLY);

  const version = await runProcess(process.execPath, ["-r", preload, bundle, "--version"]);
  assert.equal(version.code, 0, version.stderr);
  assert.match(version.stderr, /webassembly instantiated/, "every other verb still loads the whole CLI");

  const args = ["-r", preload, bundle, "registry", "serve", "--root", join(dir, "store"), "--listen", "127.0.0.1:0"];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  t.after(() => child.kill("SIGKILL"));
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  await waitFor(
    () => /registry listening on/.test(stderr) || child.exitCode !== null,
    "the registry to listen",
    30_000,
  );
  // SIGKILL: a SIGTERM can arrive before the verb installs its handler, right after the line.
  child.kill("SIGKILL");
  await exited;
  assert.match(stderr, /registry listening on 127\.0\.0\.1:\d+/);
  assert.doesNotMatch(stderr, /webassembly instantiated/);
});
