/** POSIX shell single-quoting: the one way a path or command is embedded in a remote command line. */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_./:=@%+-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** `dirname` for the absolute POSIX paths uploads target. */
export function remoteDirname(path: string): string {
  const index = path.replace(/\/+$/, "").lastIndexOf("/");
  if (index <= 0) return "/";
  return path.slice(0, index);
}

export function remoteBasename(path: string): string {
  const trimmed = path.replace(/\/+$/, "");
  return trimmed.slice(trimmed.lastIndexOf("/") + 1);
}

/** Octal text of a file mode's permission bits, as `stat -c %a` prints it ("644", "4755"). */
export function modeText(mode: number): string {
  return (mode & 0o7777).toString(8);
}

/**
 * A shell command that prints the lower-case hex SHA-256 of an (already quoted) absolute path.
 * OpenSSL when the host has it — it uses the CPU's SHA instructions and hashes about four times
 * faster than coreutils' sha256sum, which matters for gigabyte image tarballs — else sha256sum.
 */
export function sha256Command(quotedPath: string): string {
  return `{ if command -v openssl >/dev/null 2>&1; then openssl dgst -sha256 -r ${quotedPath}; else sha256sum -- ${quotedPath}; fi; } 2>/dev/null | cut -c1-64`;
}
