/**
 * The floor for any DHCP server on this Node: the least a Node.js program can do to answer the
 * boot storm. Its sockets are airstrap's (src/services/dhcp/server.ts): a wildcard socket on the
 * DHCP port for the clients' broadcasts, one bound to the server's address on the same port
 * (SO_REUSEADDR) that sends every reply, broadcast allowed, the same 4 MiB receive buffer. Each
 * DISCOVER from a known MAC gets that MAC's OFFER, encoded beforehand by airstrap's own answer
 * code (so the bytes on the wire are airstrap's), with the xid and flags patched in; nothing else:
 * no other message types, no relays, no leases, no events, no metrics, no error paths. What it
 * costs per DISCOVER is what Node's dgram costs, and no server written on Node goes below it.
 *
 * Usage: node --import tsx bench/pxe/dhcp-floor.ts <offers.json>
 * offers.json: { serverAddress, serverPort, clientPort, offers: { "<12 hex digits of the MAC>": "<hex of the OFFER>" } }
 */
import { createSocket, type Socket } from "node:dgram";
import { readFileSync } from "node:fs";

export interface FloorOffers {
  serverAddress: string;
  serverPort: number;
  clientPort: number;
  offers: Record<string, string>;
}

const BROADCAST = "255.255.255.255";
const DHCP_HEADER = 236;
const MAGIC_COOKIE = 0x63825363;
const DISCOVER = 1;

const setup = JSON.parse(readFileSync(process.argv[2]!, "utf8")) as FloorOffers;
/** MAC (48 bits as a number) → its OFFER. */
const offers = new Map<number, Buffer>();
for (const [mac, hex] of Object.entries(setup.offers)) offers.set(Number.parseInt(mac, 16), Buffer.from(hex, "hex"));

/** Option 53's value, or 0 (no options walk past it: it is where every client puts it, first). */
function messageType(datagram: Buffer): number {
  let at = DHCP_HEADER + 4;
  while (at + 1 < datagram.length) {
    const code = datagram[at]!;
    if (code === 0) {
      at += 1;
      continue;
    }
    if (code === 255) return 0;
    if (code === 53) return datagram[at + 2] ?? 0;
    at += 2 + datagram[at + 1]!;
  }
  return 0;
}

function bind(address: string): Promise<Socket> {
  const socket = createSocket({
    type: "udp4",
    reuseAddr: true,
    lookup: (host, _o, callback) => callback(null, host, 4),
  });
  return new Promise((resolve, reject) => {
    socket.once("error", reject);
    socket.bind({ address, port: setup.serverPort }, () => {
      socket.setBroadcast(true);
      socket.setRecvBufferSize(4 * 1024 * 1024);
      resolve(socket);
    });
  });
}

const broadcasts = await bind("0.0.0.0");
const replies = await bind(setup.serverAddress);
const onDatagram = (datagram: Buffer) => {
  if (datagram.length < DHCP_HEADER + 4 || datagram[0] !== 1 || datagram[1] !== 1 || datagram[2] !== 6) return;
  if (datagram.readUInt32BE(DHCP_HEADER) !== MAGIC_COOKIE) return;
  const offer = offers.get(datagram.readUIntBE(28, 6));
  if (offer === undefined || messageType(datagram) !== DISCOVER) return;
  const reply = Buffer.from(offer);
  datagram.copy(reply, 4, 4, 8); // xid
  datagram.copy(reply, 10, 10, 12); // flags
  replies.send(reply, setup.clientPort, BROADCAST);
};
broadcasts.on("message", onDatagram);
replies.on("message", onDatagram);
process.stderr.write(
  `DHCP floor listening on 0.0.0.0:${setup.serverPort}, ${setup.serverAddress}:${setup.serverPort}\n`,
);
process.on("SIGTERM", () => process.exit(0));
