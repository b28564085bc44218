import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { REPO } from "../helpers/cli.js";

const TSX = import.meta.resolve("tsx");
const HELPER = join(REPO, "test/helpers/ask-sudo-password.ts");
const SCRIPT = "/usr/bin/script";
const env = () => {
  const { AIRSTRAP_SUDO_PASSWORD: _, ...rest } = process.env;
  return rest;
};

/**
 * The helper on a pseudo-terminal made by script(1) (util-linux): once the prompt shows, `keys` are
 * typed into it. Resolves with everything the terminal showed.
 */
function onTerminal(keys: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(SCRIPT, ["-qec", `${process.execPath} --import ${TSX} ${HELPER}`, "/dev/null"], {
      env: env(),
      stdio: ["pipe", "pipe", "pipe"],
    });
    let shown = "";
    let typed = false;
    child.stdout.on("data", (chunk: Buffer) => {
      shown += chunk.toString("utf8");
      if (!typed && shown.includes("sudo password for")) {
        typed = true;
        child.stdin.write(keys);
      }
    });
    child.on("error", reject);
    child.on("close", () => resolve(shown));
  });
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

test("on a terminal the sudo password is asked for once, without echo; backspace edits it", async (t) => {
  if (!existsSync(SCRIPT)) return t.skip(`${SCRIPT} is missing (Debian package bsdutils)`);
  const password = 'pa"ss\\wörd-42';
  // A typo, erased with backspace, then the rest, then Enter.
  const shown = await onTerminal(`${password.slice(0, 4)}X\u007f${password.slice(4)}\r`);
  assert.match(shown, /\[airstrap\] sudo password for ops on node-1 \(10\.0\.0\.1\)/);
  assert.match(shown, new RegExp(`answer: ${sha256(password)}`));
  assert.ok(!shown.includes("wörd"), "nothing typed is echoed");
});

test("Ctrl-C at the prompt cancels", async (t) => {
  if (!existsSync(SCRIPT)) return t.skip(`${SCRIPT} is missing (Debian package bsdutils)`);
  assert.match(await onTerminal("abc\u0003"), /failed: cancelled at the sudo password prompt/);
});

test("without a terminal nothing is asked and nothing is read; AIRSTRAP_SUDO_PASSWORD wins", async () => {
  const run = (extra: NodeJS.ProcessEnv) =>
    new Promise<string>((resolve, reject) => {
      // stdin is a pipe left open: a prompt that read it would hang here.
      const child = spawn(process.execPath, ["--import", TSX, HELPER], {
        env: { ...env(), ...extra },
        stdio: ["pipe", "pipe", "inherit"],
      });
      let out = "";
      child.stdout.on("data", (chunk) => {
        out += chunk;
      });
      child.on("error", reject);
      child.on("close", () => {
        child.stdin.destroy();
        resolve(out);
      });
    });
  assert.equal(await run({}), "answer: none\n");
  assert.equal(await run({ AIRSTRAP_SUDO_PASSWORD: "from-env" }), `answer: ${sha256("from-env")}\n`);
});
