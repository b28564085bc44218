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
