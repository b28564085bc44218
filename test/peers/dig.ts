import { execFile } from "node:child_process";
import { promisify } from "node:util";

/** dig (BIND 9, Debian bind9-dnsutils) against a server under test; its text output parsed. */

const run = promisify(execFile);

export interface DnsServerAddress {
  address: string;
  port: number;
}

export interface DigRecord {
  name: string;
  ttl: number;
  type: string;
  data: string;
}

export interface DigResult {
  status: string;
  flags: string[];
  edns: { version: number; udp: number; flags: string[] } | undefined;
  question: string | undefined;
  answer: DigRecord[];
  authority: DigRecord[];
  additional: DigRecord[];
  text: string;
}

/** Server as "addr:port" (what RunningService.addresses holds) or an address object. */
export function serverOf(server: string | DnsServerAddress): DnsServerAddress {
  if (typeof server !== "string") return server;
  const match = server.match(/^\[?([^\]]+?)\]?:(\d+)$/);
  if (!match) throw new Error(`not addr:port: ${server}`);
  return { address: match[1]!, port: Number(match[2]) };
}

/** Runs `dig @server -p port name type ...options`; one try, short timeout, so a silent server fails fast. */
export async function dig(
  server: string | DnsServerAddress,
  name: string,
  type = "A",
  options: string[] = [],
): Promise<DigResult> {
  const { address, port } = serverOf(server);
  const { stdout } = await run(
    "dig",
    [`@${address}`, "-p", String(port), name, type, "+tries=1", "+timeout=3", ...options],
    {
      timeout: 20_000,
    },
  );
  return parseDig(stdout);
}

export function parseDig(text: string): DigResult {
  const status = text.match(/status: ([A-Z]+)/)?.[1] ?? "NO-RESPONSE";
  const flags = (text.match(/;; flags: ([a-z ]*);/)?.[1] ?? "").trim().split(/\s+/).filter(Boolean);
  const ednsMatch = text.match(/; EDNS: version: (\d+), flags:([a-z ]*); udp: (\d+)/);
  const edns = ednsMatch
    ? {
        version: Number(ednsMatch[1]),
        flags: ednsMatch[2]!.trim().split(/\s+/).filter(Boolean),
        udp: Number(ednsMatch[3]),
      }
    : undefined;
  const section = (title: string): string[] => {
    const match = text.match(new RegExp(`;; ${title} SECTION:\\n([\\s\\S]*?)(?:\\n\\n|$)`));
    return match ? match[1]!.split("\n").filter((line) => line.trim() !== "") : [];
  };
  const records = (title: string): DigRecord[] =>
    section(title).map((line) => {
      const [name = "", ttl = "0", , type = "", ...data] = line.split(/\s+/);
      return { name, ttl: Number(ttl), type, data: data.join(" ") };
    });
  return {
    status,
    flags,
    edns,
    question: section("QUESTION")[0]?.replace(/^;/, ""),
    answer: records("ANSWER"),
    authority: records("AUTHORITY"),
    additional: records("ADDITIONAL"),
    text,
  };
}
