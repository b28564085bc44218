import { readdir, readFile, readlink } from "node:fs/promises";

/** The socket inodes a process holds (/proc/PID/fd → socket:[N]). */
export async function socketInodes(pid: number): Promise<string[]> {
  const links = await Promise.all(
    (await readdir(`/proc/${pid}/fd`).catch(() => [] as string[])).map((fd) =>
      readlink(`/proc/${pid}/fd/${fd}`).catch(() => ""),
    ),
  );
  return links.flatMap((link) => /^socket:\[(\d+)\]$/.exec(link)?.[1] ?? []);
}

/** The inode of the UDP socket bound to address:port (IPv4), from /proc/net/udp. */
export async function udpSocketInode(address: string, port: number): Promise<string | undefined> {
  const hex = address
    .split(".")
    .reverse()
    .map((octet) => Number(octet).toString(16).padStart(2, "0"))
    .join("")
    .toUpperCase();
  const local = `${hex}:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  const line = (await readFile("/proc/net/udp", "utf8")).split("\n").find((l) => l.trim().split(/\s+/)[1] === local);
  return line?.trim().split(/\s+/)[9];
}
