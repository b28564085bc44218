import assert from "node:assert/strict";
import { test } from "node:test";
import ssh2 from "ssh2";
import { ensureHostKey } from "../../src/hosts/host-keys.js";
import { openStateDir } from "../../src/state/state-dir.js";
import { tempDir } from "../helpers/cli.js";

// ssh2's generator writes a key its own parser rejects about once in 400 keys; 1,000 hosts would
// meet one nine times in ten if such a key were kept.
test("every host key made for PXE hosts is one OpenSSH's format readers accept, and it is made once", async (t) => {
  const state = await openStateDir(await tempDir(t, "airstrap-host-keys-"));
  for (let index = 0; index < 1000; index++) {
    const key = await ensureHostKey(state, `host-${index}`);
    assert.ok(!(ssh2.utils.parseKey(key.private) instanceof Error), `host-${index}`);
  }
  const again = await ensureHostKey(state, "host-7");
  assert.equal(again.private, (await ensureHostKey(state, "host-7")).private);
  assert.equal(again.private, `${(await state.read("host-keys/host-7"))?.trim()}\n`);
});
