import { randomBytes } from "node:crypto";
import { chmod, mkdir, open, readFile } from "node:fs/promises";
import { join } from "node:path";
import { registerSecret } from "../../secrets.js";

/** `<state>/registry/push-token`: 32 random bytes, hex, created once, 0600; registered as a secret of this process. */
export async function ensurePushToken(stateDir: string): Promise<string> {
  const dir = join(stateDir, "registry");
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(stateDir, 0o700).catch(() => undefined);
  const path = join(dir, "push-token");
  try {
    const handle = await open(path, "wx", 0o600);
    try {
      await handle.writeFile(`${randomBytes(32).toString("hex")}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  registerSecret(await readFile(path, "utf8"));
  return path;
}
