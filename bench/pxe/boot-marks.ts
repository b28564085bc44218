import { appendFileSync, closeSync, openSync, readFileSync, readSync } from "node:fs";
import type { HttpRequestRecord } from "../../test/peers/pxe-floor.js";

/**
 * Where a VM's boot stood when: named steps, each the first time it was seen (ms since the epoch),
 * from the servers' own records (dnsmasq's log and the floor's request log, or airstrap's events)
 * and from the VM's serial console.
 */
export type Marks = Partial<Record<Step, number>>;

export type Step =
  | "dhcp"
  | "dhcp-acks"
  | "dhcp-2"
  | "ipxe-script"
  | "kernel-done"
  | "initrd-done"
  | "kernel"
  | "ignition-get"
  | "root-start"
  | "root-done"
  | "ignition-done"
  | "switch-root"
  | "sshd";

/** Console lines that mark a step, first time seen. */
const CONSOLE_MARKS: Array<[Step, RegExp]> = [
  ["kernel", /Linux version/],
  // Ignition says "finished successfully" after every stage; the files stage is the one that matters.
  ["ignition-done", /Finished .*ignition-files/],
  ["switch-root", /Switching root|Reached target.*Switch Root/],
  ["sshd", /Started .*OpenBSD Secure Shell|Started ssh\.service/],
];

/**
 * Polls the console log and notes when each mark first shows (the console itself has no clock);
 * copies each complete line to `copy` with the seconds since `origin()` in front.
 */
export function watchConsole(path: string, copy: string, origin: () => number): { stop(): Marks } {
  const marks: Marks = {};
  let text = "";
  let pending = "";
  let offset = 0;
  const poll = () => {
    let fd: number;
    try {
      fd = openSync(path, "r");
    } catch {
      return;
    }
    try {
      const buffer = Buffer.alloc(1 << 20);
      for (;;) {
        const read = readSync(fd, buffer, 0, buffer.length, offset);
        if (read <= 0) break;
        offset += read;
        const chunk = buffer.subarray(0, read).toString("utf8");
        text += chunk;
        pending += chunk;
      }
    } finally {
      // Four polls a second for 10+ minutes per VM: an fd left open each time ran out of them (EMFILE).
      closeSync(fd);
    }
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    const stamp = ((Date.now() - origin()) / 1000).toFixed(1).padStart(6);
    if (lines.length > 0) appendFileSync(copy, lines.map((line) => `${stamp} ${line.replace(/\r/g, "")}\n`).join(""));
    for (const [name, pattern] of CONSOLE_MARKS) {
      if (marks[name] === undefined && pattern.test(text)) marks[name] = Date.now();
    }
    // Only the tail can still hold a line in progress.
    text = text.slice(-4096);
  };
  const timer = setInterval(poll, 250);
  return {
    stop() {
      clearInterval(timer);
      poll();
      return marks;
    },
  };
}

/** The floor's HTTP request log: script, downloads (start and end), Ignition. */
export function marksFromFloorRequests(requests: HttpRequestRecord[], client: string): Marks {
  const mine = requests.filter((request) => request.client.endsWith(client) && request.status === 200);
  const first = (path: string) => mine.find((request) => request.path === path);
  const root = first("/live.squashfs");
  return defined({
    "ipxe-script": first("/boot.ipxe")?.start,
    "kernel-done": first("/vmlinuz")?.end,
    "initrd-done": first("/initrd.img")?.end,
    "ignition-get": first("/ignition.json")?.start,
    "root-start": root?.start,
    "root-done": root?.end,
  });
}

/** When dnsmasq acknowledged this MAC (its log has whole seconds, local time), and how often. */
export function dhcpAcksFromDnsmasq(log: string, mac: string): Marks {
  const year = new Date().getFullYear();
  const acks = readFileSync(log, "utf8")
    .split("\n")
    .filter((line) => line.includes("DHCPACK") && line.includes(mac))
    .map((line) => new Date(`${line.slice(0, 15)} ${year}`).getTime());
  return defined({ dhcp: acks[0], "dhcp-2": acks[1], "dhcp-acks": acks.length });
}

interface ServeEvent {
  time: string;
  kind: string;
  host?: string;
  detail?: Record<string, unknown>;
}

/** airstrap serve's JSON event lines: DHCP acks, the host's iPXE script, downloads, its Ignition. */
export function marksFromAirstrapEvents(output: string, host: { name: string; address: string }): Marks {
  const events = output
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as ServeEvent);
  const at = (event: ServeEvent | undefined) => (event ? Date.parse(event.time) : undefined);
  const acks = events.filter((event) => event.kind === "dhcp.ack" && event.host === host.name);
  const mine = (kind: string) => events.find((event) => event.kind === kind && event.detail?.group === host.name);
  const download = (suffix: string) =>
    events.find(
      (event) =>
        event.kind === "boot.asset" &&
        event.detail?.status === 200 &&
        String(event.detail?.client ?? "").endsWith(host.address) &&
        String(event.detail?.path ?? "").endsWith(suffix),
    );
  const root = download("live.squashfs");
  const rootDone = at(root);
  return defined({
    dhcp: at(acks[0]),
    "dhcp-2": at(acks[1]),
    "dhcp-acks": acks.length,
    "ipxe-script": at(mine("boot.ipxe")),
    "kernel-done": at(download("vmlinuz")),
    "initrd-done": at(download("initrd.img")),
    "ignition-get": at(mine("boot.ignition")),
    "root-start": rootDone === undefined ? undefined : rootDone - Number(root?.detail?.durationMs ?? 0),
    "root-done": rootDone,
  });
}

function defined(marks: Record<string, number | undefined>): Marks {
  return Object.fromEntries(Object.entries(marks).filter(([, value]) => value !== undefined)) as Marks;
}
