import { posix } from "node:path";

/**
 * The files of airstrap's image, as a pure list: the single-file executable, the shared libraries
 * it links against (the Node binary inside it is dynamically linked to glibc and libstdc++), the
 * programs it drives (git and git-http-backend, for `airstrap git serve`) with theirs, a non-root
 * user, and /tmp. Nothing else: no shell, no package manager, no CA bundle (Node carries its own
 * root certificates, and the site CA is mounted by whoever needs it).
 */
export const IMAGE_EXECUTABLE = "/usr/local/bin/airstrap";
export const IMAGE_USER = { name: "airstrap", uid: 65532, gid: 65532 } as const;

export type RootfsEntry =
  | { kind: "dir"; path: string; mode: number }
  | { kind: "file"; path: string; mode: number; source: string }
  | { kind: "bytes"; path: string; mode: number; bytes: Buffer };

export interface RootfsInput {
  executable: string;
  /** Programs airstrap runs, as absolute paths inside the image → where to read each on this machine. */
  programs?: { path: string; source: string }[];
  /** Absolute paths inside the image → where to read each library on this machine. */
  libraries: { path: string; source: string }[];
}

export function rootfsEntries(input: RootfsInput): RootfsEntry[] {
  const user = IMAGE_USER;
  const files: RootfsEntry[] = [
    { kind: "file", path: IMAGE_EXECUTABLE, mode: 0o755, source: input.executable },
    ...[...(input.programs ?? []), ...input.libraries].map((file) => ({
      kind: "file" as const,
      path: file.path,
      mode: 0o755,
      source: file.source,
    })),
    {
      kind: "bytes",
      path: "/etc/passwd",
      mode: 0o644,
      bytes: Buffer.from(
        `root:x:0:0:root:/root:/sbin/nologin\n${user.name}:x:${user.uid}:${user.gid}::/tmp:/sbin/nologin\n`,
      ),
    },
    {
      kind: "bytes",
      path: "/etc/group",
      mode: 0o644,
      bytes: Buffer.from(`root:x:0:\n${user.name}:x:${user.gid}:\n`),
    },
    { kind: "dir", path: "/tmp", mode: 0o1777 },
  ];
  const dirs = new Set<string>();
  for (const entry of files) {
    for (let dir = posix.dirname(entry.path); dir !== "/"; dir = posix.dirname(dir)) dirs.add(dir);
  }
  const explicit = new Set(files.filter((e) => e.kind === "dir").map((e) => e.path));
  const parents: RootfsEntry[] = [...dirs]
    .filter((dir) => !explicit.has(dir))
    .map((path) => ({ kind: "dir", path, mode: 0o755 }));
  // Sorted by path, so parents precede children and the order never depends on the input's.
  return [...parents, ...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Parses `ldd` output into the libraries to carry (the vDSO has no file and is skipped). */
export function parseLdd(output: string): { path: string; source: string }[] {
  const found = new Map<string, string>();
  for (const line of output.split("\n")) {
    const arrow = line.match(/^\s*\S+\s+=>\s+(\/\S+)\s+\(0x/);
    const direct = line.match(/^\s*(\/\S+)\s+\(0x/);
    const path = arrow?.[1] ?? direct?.[1];
    if (path) found.set(path, path);
  }
  return [...found].map(([path, source]) => ({ path, source })).sort((a, b) => (a.path < b.path ? -1 : 1));
}
