import { access, chmod, mkdir, readFile } from "node:fs/promises";
import { dirname } from "node:path";
import { runCommand } from "./exec.js";

/** The lab's SSH identity (ed25519, 0600): generated once, kept across lab down and up. */
export async function ensureLabIdentity(path: string): Promise<string> {
  try {
    await access(path);
  } catch {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    await runCommand(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "airstrap-lab", "-f", path]);
  }
  await chmod(path, 0o600);
  return (await readFile(`${path}.pub`, "utf8")).trim();
}
