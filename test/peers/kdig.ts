import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { type DnsServerAddress, serverOf } from "./dig.js";

/** kdig (Knot DNS, Debian knot-dnsutils) against a server under test, read through its RFC 8427 JSON output. */

const run = promisify(execFile);

export interface KdigRecord {
  NAME: string;
  TYPEname: string;
  TTL: number;
  [rdata: string]: unknown;
}

export interface KdigResult {
  ID: number;
  RCODE: number;
  AA: number;
  TC: number;
  RA: number;
  QNAME: string;
  ANCOUNT: number;
  answerRRs?: KdigRecord[];
  authorityRRs?: KdigRecord[];
  additionalRRs?: KdigRecord[];
}

export async function kdig(
  server: string | DnsServerAddress,
  name: string,
  type = "A",
  options: string[] = [],
): Promise<KdigResult> {
  const { address, port } = serverOf(server);
  const { stdout } = await run(
    "kdig",
    [`@${address}`, "-p", String(port), name, type, "+json", "+retry=0", "+timeout=3", ...options],
    {
      timeout: 20_000,
    },
  );
  const start = stdout.indexOf("{");
  if (start < 0) throw new Error(`kdig printed no answer:\n${stdout}`);
  return JSON.parse(stdout.slice(start)) as KdigResult;
}
