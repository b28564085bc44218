import { spawnSync } from "node:child_process";

/** Debian's `age`, the reference implementation's CLI; undefined when it is not installed. */
export function ageBinary(): string | undefined {
  const found = spawnSync("sh", ["-c", "command -v age"], { encoding: "utf8" });
  return found.status === 0 ? found.stdout.trim() : undefined;
}

/** Decrypts one armored age file with an identity file; the plaintext bytes, or the error text. */
export function ageDecrypt(age: string, armored: string, identityFile: string): Buffer {
  const run = spawnSync(age, ["--decrypt", "-i", identityFile], { input: armored });
  if (run.status !== 0) throw new Error(`age --decrypt failed: ${run.stderr.toString()}`);
  return run.stdout;
}
