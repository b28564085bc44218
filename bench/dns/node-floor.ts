/**
 * The floor for any DNS server on this Node: a UDP responder that does nothing but look the
 * question up in a table of precomputed answers and send one back — no access checks, no EDNS,
 * no metrics, no error paths. Whatever it costs per query is what Node's dgram costs, and no
 * server written on it can go below that. The benchmark runs it beside airstrap to show how much
 * of airstrap's cost is Node's own and how much is airstrap's.
 *
 * Usage: node --import tsx bench/dns/node-floor.ts <address> <port> <records.json>
 * records.json: [["name.example", "10.0.0.1"], ...] (A records, TTL 60).
 */
import { createSocket } from "node:dgram";
import { readFileSync } from "node:fs";

const [address, port, recordsFile] = process.argv.slice(2);
const records = JSON.parse(readFileSync(recordsFile!, "utf8")) as [string, string][];

/** The question section (name, type, class) as bytes, lower-cased: the table's key. */
function questionKey(message: Buffer): string | undefined {
  let offset = 12;
  while (offset < message.length && message[offset] !== 0) offset += message[offset]! + 1;
  const end = offset + 5;
  return end <= message.length ? message.toString("latin1", 12, end).toLowerCase() : undefined;
}

function encodeName(name: string): Buffer {
  const labels = name.split(".").filter(Boolean);
  return Buffer.concat([
    ...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])),
    Buffer.from([0]),
  ]);
}

const answers = new Map<string, Buffer>();
for (const [name, ip] of records) {
  const question = Buffer.concat([encodeName(name.toLowerCase()), Buffer.from([0, 1, 0, 1])]);
  const header = Buffer.from([0, 0, 0x85, 0x00, 0, 1, 0, 1, 0, 0, 0, 0]);
  const answer = Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, ...ip.split(".").map(Number)]);
  answers.set(question.toString("latin1"), Buffer.concat([header, question, answer]));
}

const socket = createSocket({ type: "udp4", lookup: (host, _options, callback) => callback(null, host, 4) });
socket.on("message", (message, remote) => {
  const key = message.length >= 12 ? questionKey(message) : undefined;
  const answer = key === undefined ? undefined : answers.get(key);
  if (answer === undefined) return;
  const response = Buffer.from(answer);
  response[0] = message[0]!;
  response[1] = message[1]!;
  response[2] = 0x84 | (message[2]! & 0x01); // QR, AA, and the query's RD
  socket.send(response, remote.port, remote.address);
});
socket.bind(Number(port), address);
process.on("SIGTERM", () => process.exit(0));
