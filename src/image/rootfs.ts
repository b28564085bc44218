import { posix } from "node:path";

/**
 * The files of airstrap's image, as a pure list: the single-file executable, the shared libraries
 * it links against (the Node binary inside it is dynamically linked to glibc and libstdc++), the
 * programs it drives (git and git-http-backend, for `airstrap git serve`), the `openssl` command
 * airstrap makes the site CA and server certificates with (and the least config its `req` needs),
 * their libraries, a non-root user, and /tmp. Nothing else: no shell, no package manager, no CA
 * bundle (Node carries its own root certificates, and the site CA is mounted by whoever needs it).
 */ export const IMAGE_EXECUTABLE = "/usr/local/bin/airstrap";
export const IMAGE_OPENSSL = "/usr/bin/openssl";
/** Where Debian's OpenSSL looks for its config (OPENSSLDIR); `openssl req` will not run without one. */
const OPENSSL_CONFIG = { path: "/usr/lib/ssl/openssl.cnf", text: "[req]\ndistinguished_name = req_dn\n[req_dn]\n" };
export const IMAGE_USER = { name: "airstrap", uid: 65532, gid: 65532 } as const;

/**
 * The one capability the executable carries as a file capability: the image's non-root user binds
 * DNS (53), DHCP (67) and TFTP (69) with it, as CoreDNS's image does for 53. A runtime grants it
 * only when its bounding set holds it (Docker's and containerd's defaults do; a pod that drops ALL
 * must add NET_BIND_SERVICE back, or the kernel refuses to run the file).
 */
export const CAP_NET_BIND_SERVICE = 10;

export type RootfsEntry =
  | { kind: "dir"; path: string; mode: number }
  | { kind: "file"; path: string; mode: number; source: string; xattrs?: Record<string, Buffer> }
  | { kind: "bytes"; path: string; mode: number; bytes: Buffer };

export interface RootfsInput {
  executable: string;
  /** Programs airstrap runs, as absolute paths inside the image → where to read each on this machine. */
  programs?: { path: string; source: string }[];
  /** This machine's openssl command, when the image carries one. */
  openssl?: string;
  /** Absolute paths inside the image → where to read each library on this machine (the executable's and openssl's). */
  libraries: { path: string; source: string }[];
}

export function rootfsEntries(input: RootfsInput): RootfsEntry[] {
  const user = IMAGE_USER;
  const files: RootfsEntry[] = [
    {
      kind: "file",
      path: IMAGE_EXECUTABLE,
      mode: 0o755,
      source: input.executable,
      xattrs: { "security.capability": fileCapability([CAP_NET_BIND_SERVICE]) },
    },
    ...[...(input.programs ?? []), ...input.libraries].map((file) => ({
      kind: "file" as const,
      path: file.path,
      mode: 0o755,
      source: file.source,
    })),
    ...(input.openssl === undefined
      ? []
      : [
          { kind: "file" as const, path: IMAGE_OPENSSL, mode: 0o755, source: input.openssl },
          { kind: "bytes" as const, path: OPENSSL_CONFIG.path, mode: 0o644, bytes: Buffer.from(OPENSSL_CONFIG.text) },
        ]),
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

/**
 * The `security.capability` value granting these capabilities as permitted and effective (what
 * `setcap cap_…=+ep` writes): VFS_CAP_REVISION_2, little-endian — magic with the effective flag,
 * then permitted and inheritable for capabilities 0–31 and 32–63.
 */
export function fileCapability(capabilities: number[]): Buffer {
  const value = Buffer.alloc(20);
  const VFS_CAP_REVISION_2 = 0x02000000;
  const VFS_CAP_FLAGS_EFFECTIVE = 0x1;
  value.writeUInt32LE(VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE, 0);
  for (const capability of capabilities) {
    const offset = capability < 32 ? 4 : 12;
    value.writeUInt32LE((value.readUInt32LE(offset) | (1 << (capability % 32))) >>> 0, offset);
  }
  return value;
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
