import assert from "node:assert/strict";
import { createSocket, type Socket } from "node:dgram";
import { join } from "node:path";
import { test } from "node:test";
import { isMalformed, OPCODE, parsePacket, serializeRequest } from "../../../src/services/tftp/wire.js";
import { type SeededRandom, seededRandom } from "../../helpers/seeded-random.js";
import { curlTftp, hasProgram, sha256File } from "../../peers/tftp-clients.js";
import { startTestTftp, tempRoot, writeRandomFile } from "./fixture.js";
import { rawDownload } from "./raw-client.js";

/**
 * 100,000 malformed and hostile datagrams over loopback, to the listening port and into running
 * transfers: the server never crashes, every reply it sends is a well-formed packet, its transfers
 * all end, and a real client downloads byte-exact while the fuzz runs and after it.
 */

const TO_LISTENER = 80_000;
const INTO_TRANSFERS = 20_000;
const BATCH = 200;

type Rng = SeededRandom;

const NAMES = ["file.bin", "undionly.kpxe", "../file.bin", "/etc/passwd", "a/../../b", "", "x".repeat(300)];
const OPTION_NAMES = ["blksize", "tsize", "timeout", "windowsize", "BLKSIZE", "multicast", "utimeout", ""];
// No value is a valid "timeout" (1-255 s): a transfer the fuzz starts ends within the server's own 2 × 100 ms.
const HUGE = ["99999999999999999999999999", "-1", "0", "65465", "300", "1e9", "0x10", " 512", "4294967296", ""];

function hostileRequest(rng: Rng): Buffer {
  const options: Record<string, string> = {};
  for (let i = rng.int(20); i > 0; i--)
    options[`${rng.pick(OPTION_NAMES)}${rng.int(3) === 0 ? i : ""}`] = rng.pick(HUGE);
  const valid = serializeRequest({
    opcode: rng.int(4) === 0 ? OPCODE.WRQ : OPCODE.RRQ,
    filename: rng.pick(NAMES),
    mode: rng.pick(["octet", "netascii", "mail", "OcTeT", ""]),
    options: new Map(Object.entries(options)),
  });
  switch (rng.int(6)) {
    case 0:
      return valid.subarray(0, rng.int(valid.length + 1)); // truncated
    case 1:
      return Buffer.from(valid.map((byte) => (byte === 0 ? 0x41 : byte))); // no NUL terminators
    case 2: {
      const mutated = Buffer.from(valid);
      for (let i = rng.int(4); i >= 0; i--) mutated[rng.int(mutated.length)] = rng.int(256);
      return mutated;
    }
    case 3:
      return Buffer.concat([valid, rng.bytes(rng.int(64))]); // trailing garbage
    default:
      return valid;
  }
}

function hostilePacket(rng: Rng): Buffer {
  const kind = rng.int(8);
  if (kind === 0) return rng.bytes(rng.int(1500));
  if (kind === 1) return Buffer.concat([Buffer.from([rng.int(256), rng.int(256)]), rng.bytes(rng.int(40))]); // unknown opcodes
  if (kind === 2) {
    const ack = Buffer.from([0, OPCODE.ACK, rng.int(256), rng.int(256)]); // bad block numbers, bad lengths
    return ack.subarray(0, rng.int(5));
  }
  if (kind === 3)
    return Buffer.concat([
      Buffer.from([0, rng.pick([OPCODE.DATA, OPCODE.ERROR, OPCODE.OACK])]),
      rng.bytes(rng.int(600)),
    ]);
  return hostileRequest(rng);
}

async function udpClient(replies: Buffer[]): Promise<Socket> {
  const socket = createSocket("udp4");
  socket.on("message", (datagram) => replies.push(datagram));
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  return socket;
}

/**
 * Sends in steps of 32 and yields between them: the server (in this process) reads at most 32
 * datagrams a turn, so a burst would mostly be dropped by the kernel instead of reaching it.
 */
async function sendAll(socket: Socket, port: number, datagrams: Buffer[]): Promise<void> {
  for (let i = 0; i < datagrams.length; i++) {
    socket.send(datagrams[i]!, port, "127.0.0.1");
    if (i % 32 === 31) await new Promise((resolve) => setImmediate(resolve));
  }
}

test("100,000 hostile datagrams: no crash, well-formed replies only, a real client still served", async (t) => {
  if (!(await hasProgram("curl"))) return t.skip("curl is not installed");
  const { tftp, port, root } = await startTestTftp(t, { limits: { timeoutMs: 100, retries: 1, maxTransfers: 64 } });
  const good = await writeRandomFile(join(root, "file.bin"), 2 * 1024 * 1024);
  const out = await tempRoot(t);
  const replies: Buffer[] = [];
  const sockets = await Promise.all([1, 2, 3, 4].map(() => udpClient(replies)));
  t.after(() => {
    for (const socket of sockets) socket.close();
  });
  const rng = seededRandom(0x7f7f);
  // A real download while the fuzz runs.
  const during = curlTftp({ address: "127.0.0.1", port }, "file.bin", join(out, "during"), { blksize: 512 });

  for (let sent = 0; sent < TO_LISTENER; sent += BATCH) {
    const socket = sockets[(sent / BATCH) % sockets.length]!;
    await sendAll(
      socket,
      port,
      Array.from({ length: BATCH }, () => hostilePacket(rng)),
    );
  }

  // Into running transfers: start one (blksize 8 keeps it long), then hit its port from its own client.
  for (let sent = 0; sent < INTO_TRANSFERS; ) {
    const victim = createSocket("udp4");
    const first = new Promise<number>((resolve) => victim.once("message", (_, from) => resolve(from.port)));
    victim.on("message", (datagram) => replies.push(datagram));
    await new Promise<void>((resolve) => victim.bind(0, "127.0.0.1", resolve));
    const request = serializeRequest({
      opcode: OPCODE.RRQ,
      filename: "file.bin",
      mode: "octet",
      options: new Map([["blksize", "8"]]),
    });
    victim.send(request, port, "127.0.0.1");
    const transferPort = await first;
    await sendAll(
      victim,
      transferPort,
      Array.from({ length: 2000 }, () => hostilePacket(rng)),
    );
    sent += 2000;
    victim.close();
  }

  await during;
  assert.equal(await sha256File(join(out, "during")), await sha256File(join(root, "file.bin")));
  await curlTftp({ address: "127.0.0.1", port }, "file.bin", join(out, "after"), { blksize: 1468 });
  assert.equal(await sha256File(join(out, "after")), await sha256File(join(root, "file.bin")));
  assert.ok((await rawDownload(port, "file.bin", { windowsize: "16", blksize: "1024" })).data.equals(good));

  const malformedReplies = replies.filter((reply) => isMalformed(parsePacket(reply)));
  assert.equal(
    malformedReplies.length,
    0,
    `malformed replies: ${malformedReplies.slice(0, 3).map((r) => r.toString("hex"))}`,
  );
  // Most of what was sent reached the server (a burst the kernel dropped would test nothing).
  const malformed = Number(/airstrap_tftp_malformed_total (\d+)/.exec(tftp.metrics())?.[1]);
  t.diagnostic(`${malformed} datagrams counted malformed, ${replies.length} replies`);
  assert.ok(malformed > 40_000, `only ${malformed} datagrams counted as malformed`);
  // Every transfer the fuzz started ends by itself (timeouts), none leaks.
  for (let i = 0; i < 200 && tftp.activeTransfers > 0; i++) await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(tftp.activeTransfers, 0);
});
