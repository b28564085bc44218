import { randomBytes } from "node:crypto";
import { chmod, link, mkdir, open, readFile, rename, rm, stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { OperatorError } from "../errors.js";
import { registerSecret } from "../secrets.js";

/**
 * `.airstrap/` beside the manifest: join token, CA and keys, pinned host keys, kubeconfig, logs.
 * The directory is 0700 and every file 0600; secrets are created once and reused on re-runs.
 */
export interface StateDir {
  readonly path: string;
  file(name: string): string;
  read(name: string): Promise<string | undefined>;
  /** Atomically replaces (or creates) a 0600 file. */
  write(name: string, content: string | Uint8Array): Promise<void>;
  /** Returns the secret, creating it exactly once (safe against a concurrent run). */
  ensureSecret(name: string, create: () => string): Promise<string>;
}

export const STATE_DIR_NAME = ".airstrap";

/**
 * The state files that hold secrets: registered with the process's redactor (src/secrets.ts) as
 * soon as the state dir is opened, so a command redacts them even when it never reads them itself.
 */
const SECRET_FILES = [
  "token",
  "registry/push-token",
  "bundle-signing.key",
  "git/push-password",
  "git/read-token",
  "git/webhook-token",
];

export function stateDirBeside(manifestFile: string): string {
  return join(dirname(resolve(manifestFile)), STATE_DIR_NAME);
}

export async function openStateDir(path: string): Promise<StateDir> {
  await mkdir(path, { recursive: true, mode: 0o700 });
  const info = await stat(path);
  if (!info.isDirectory())
    throw new OperatorError(`state dir ${path} is not a directory`, {
      hint: "move that file away; airstrap keeps its state in this folder",
    });
  // mkdir's mode is masked by umask and ignored for an existing folder: enforce it.
  if ((info.mode & 0o077) !== 0) await chmod(path, 0o700);

  const file = (name: string) => {
    if (!/^[a-zA-Z0-9._-]+(\/[a-zA-Z0-9._-]+)*$/.test(name) || name.split("/").includes(".."))
      throw new Error(`invalid state file name: ${name}`);
    return join(path, name);
  };

  async function read(name: string): Promise<string | undefined> {
    try {
      return await readFile(file(name), "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
  }

  async function writeTemp(name: string, content: string | Uint8Array): Promise<string> {
    const target = file(name);
    await mkdir(dirname(target), { recursive: true, mode: 0o700 });
    const temp = `${target}.${randomBytes(6).toString("hex")}.tmp`;
    const handle = await open(temp, "wx", 0o600);
    try {
      await handle.writeFile(content);
      await handle.sync();
    } finally {
      await handle.close();
    }
    return temp;
  }

  for (const name of SECRET_FILES) registerSecret(await read(name));

  return {
    path,
    file,
    read,
    async write(name, content) {
      const temp = await writeTemp(name, content);
      await rename(temp, file(name));
    },
    async ensureSecret(name, create) {
      const existing = await read(name);
      if (existing !== undefined) {
        if (existing.trim() !== "") return registerSecret(existing.trim());
        throw new OperatorError(`state file ${file(name)} is empty`, {
          hint: "delete it to create a new one; nodes that joined with the old value will not accept a new one",
        });
      }
      const temp = await writeTemp(name, `${create()}\n`);
      try {
        // link() fails if another run created the secret meanwhile; theirs wins and is reused.
        await link(temp, file(name));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      } finally {
        await rm(temp, { force: true });
      }
      return registerSecret((await read(name))!.trim());
    },
  };
}

/** A join token from the kernel's CSPRNG: 32 random bytes, hex. */
export function generateToken(): string {
  return randomBytes(32).toString("hex");
}
