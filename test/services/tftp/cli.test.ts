import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { runAirstrap } from "../../helpers/cli.js";
import { streamAirstrap } from "../../helpers/cli-stream.js";
import { curlTftp, hasProgram, sha256File } from "../../peers/tftp-clients.js";
import { freePort } from "../../peers/unbound.js";
import { tempRoot, writeRandomFile } from "./fixture.js";

test("airstrap tftp serve --root DIR --listen ADDR:PORT serves until SIGTERM, one JSON event per file", async (t) => {
  if (!(await hasProgram("curl"))) return t.skip("curl is not installed");
  const root = await tempRoot(t);
  const out = await tempRoot(t);
  await writeRandomFile(join(root, "ipxe.efi"), 200_000);
  const port = await freePort("127.0.0.1");
  let downloaded: Promise<void> | undefined;
  const run = streamAirstrap(["tftp", "serve", "--root", root, "--listen", `127.0.0.1:${port}`, "--json"], {
    cwd: root,
    timeoutMs: 60_000,
    onEvent(event, child) {
      if (event.kind === "tftp.start") {
        downloaded = curlTftp({ address: "127.0.0.1", port }, "ipxe.efi", join(out, "ipxe.efi"), { blksize: 1468 });
      }
      if (event.kind === "tftp.transfer") child.kill("SIGTERM");
    },
  });
  const result = await run.done;
  assert.equal(result.code, 0, result.stderr);
  await downloaded;
  assert.equal(await sha256File(join(out, "ipxe.efi")), await sha256File(join(root, "ipxe.efi")));
  assert.match(result.stdout, /"kind":"tftp.transfer".*"file":"ipxe.efi".*"blksize":1468/);
});

test("airstrap tftp serve without --root or with a bad number is a usage error", async () => {
  const noRoot = await runAirstrap(["tftp", "serve", "--listen", "127.0.0.1:6969"]);
  assert.equal(noRoot.code, 2);
  assert.match(noRoot.stderr, /--root DIR/);
  const badNumber = await runAirstrap([
    "tftp",
    "serve",
    "--root",
    "/tmp",
    "--listen",
    "127.0.0.1",
    "--max-blksize",
    "4",
  ]);
  assert.equal(badNumber.code, 2);
  assert.match(badNumber.stderr, /--max-blksize 4: expected a whole number from 8 to 65464/);
});
