import { randomBytes } from "node:crypto";
import { chmod, open, readFile, rename, rm } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { OperatorError } from "../errors.js";
import { identitiesIn } from "./age.js";

/** Written to a temporary name, flushed and renamed: never half-written; `mode` from the first byte. */
export async function writeFileReplacing(path: string, content: string, mode: number): Promise<void> {
  const temp = `${path}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    const handle = await open(temp, "wx", mode);
    try {
      await handle.writeFile(content);
      await handle.chmod(mode);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
    await chmod(path, mode);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/**
 * The age identities to open files with, where sops looks for them: the key file named, else
 * SOPS_AGE_KEY, SOPS_AGE_KEY_FILE, then ~/.config/sops/age/keys.txt.
 */
export async function ageIdentities(keyFile: string | undefined, env: NodeJS.ProcessEnv): Promise<string[]> {
  const fromFile = async (path: string, required: boolean) => {
    const text = await readFile(path, "utf8").catch((error: NodeJS.ErrnoException) => {
      if (!required && error.code === "ENOENT") return "";
      throw new OperatorError(`cannot read age key file ${path}: ${error.message}`, {
        hint: "create one with: airstrap secrets keygen -o FILE",
      });
    });
    return identitiesIn(text);
  };
  if (keyFile) return fromFile(keyFile, true);
  const identities = env.SOPS_AGE_KEY ? identitiesIn(env.SOPS_AGE_KEY) : [];
  if (env.SOPS_AGE_KEY_FILE) identities.push(...(await fromFile(env.SOPS_AGE_KEY_FILE, true)));
  const home = env.XDG_CONFIG_HOME ?? join(env.HOME ?? homedir(), ".config");
  identities.push(...(await fromFile(join(home, "sops", "age", "keys.txt"), false)));
  return identities;
}
