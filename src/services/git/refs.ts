import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";

/**
 * A repository's refs (refs/…) and the objects they name, read from its files — what
 * `git for-each-ref` lists for the files ref backend, without starting a program: a push reads
 * them twice (before and after, for the webhook), and starting git from the server's process
 * costs more than the reading (Node's spawn is synchronous, and slow for a large process).
 * Undefined when the repository keeps refs another way (reftable): the caller asks git then.
 */
export async function readRefFiles(gitDir: string): Promise<Map<string, string> | undefined> {
  const config = await readFile(join(gitDir, "config"), "utf8").catch(() => "");
  if (/^\s*refstorage\s*=/im.test(config)) return undefined;
  const packed = parsePackedRefs(await readFile(join(gitDir, "packed-refs"), "utf8").catch(() => ""));
  const loose = new Map<string, string>();
  const files = await readdir(join(gitDir, "refs"), { recursive: true, withFileTypes: true }).catch(() => []);
  await Promise.all(
    files
      .filter((entry) => entry.isFile() && !entry.name.endsWith(".lock"))
      .map(async (entry) => {
        const path = join(entry.parentPath, entry.name);
        const ref = `refs/${path.slice(join(gitDir, "refs").length + 1)}`;
        const text = await readFile(path, "utf8").catch(() => undefined);
        if (text !== undefined) loose.set(ref, text.trim());
      }),
  );
  return resolveRefs(packed, loose);
}

/** `packed-refs`: `<object> <ref>` lines; `#` is its header, `^<object>` the peeled line of the ref above. */
export function parsePackedRefs(text: string): Map<string, string> {
  const refs = new Map<string, string>();
  for (const line of text.split("\n")) {
    const match = /^([0-9a-f]{40,64}) (refs\/\S+)$/.exec(line);
    if (match) refs.set(match[2]!, match[1]!);
  }
  return refs;
}

/**
 * Loose refs over packed ones; a symbolic ref (`ref: refs/…`) names what its target names, as
 * for-each-ref shows it; a ref that names nothing valid is left out, as git leaves out broken refs.
 */
export function resolveRefs(packed: Map<string, string>, loose: Map<string, string>): Map<string, string> {
  const raw = new Map(packed);
  for (const [ref, text] of loose) raw.set(ref, text);
  const resolve = (value: string, depth: number): string | undefined => {
    if (/^[0-9a-f]{40,64}$/.test(value)) return value;
    const target = /^ref: (\S+)$/.exec(value)?.[1];
    if (target === undefined || depth > 5) return undefined;
    const next = raw.get(target);
    return next === undefined ? undefined : resolve(next, depth + 1);
  };
  const refs = new Map<string, string>();
  for (const ref of [...raw.keys()].sort()) {
    const object = resolve(raw.get(ref)!, 0);
    if (object !== undefined) refs.set(ref, object);
  }
  return refs;
}
