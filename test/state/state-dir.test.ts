import assert from "node:assert/strict";
import { chmod, readdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { generateToken, openStateDir } from "../../src/state/state-dir.js";
import { tempDir } from "../helpers/cli.js";

test("the state dir is 0700, its files 0600, and a secret is created once", async (t) => {
  const dir = join(await tempDir(t), ".airstrap");
  const state = await openStateDir(dir);
  assert.equal((await stat(dir)).mode & 0o777, 0o700);
  const token = await state.ensureSecret("token", generateToken);
  assert.match(token, /^[0-9a-f]{64}$/);
  assert.equal((await stat(state.file("token"))).mode & 0o777, 0o600);
  assert.equal(await state.ensureSecret("token", () => "other"), token);
  assert.equal(await (await openStateDir(dir)).ensureSecret("token", generateToken), token);
  assert.deepEqual(await readdir(dir), ["token"]);
});

test("concurrent first runs agree on one secret", async (t) => {
  const dir = join(await tempDir(t), ".airstrap");
  const states = await Promise.all(Array.from({ length: 8 }, () => openStateDir(dir)));
  const tokens = await Promise.all(states.map((s) => s.ensureSecret("token", generateToken)));
  assert.equal(new Set(tokens).size, 1);
  assert.deepEqual(await readdir(dir), ["token"]);
});

test("a too-open state dir is tightened; an emptied secret is an operator error", async (t) => {
  const dir = join(await tempDir(t), ".airstrap");
  await openStateDir(dir);
  await chmod(dir, 0o755);
  const state = await openStateDir(dir);
  assert.equal((await stat(dir)).mode & 0o777, 0o700);
  await writeFile(state.file("token"), "");
  await assert.rejects(state.ensureSecret("token", generateToken), /is empty/);
});
