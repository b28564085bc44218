import assert from "node:assert/strict";
import { access, mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { ERROR_CODE, OPCODE, serializeAck, serializeRequest } from "../../../src/services/tftp/wire.js";
import { eventOf, startTestTftp, tempRoot, writeRandomFile } from "./fixture.js";
import { RawTftpClient, rawDownload } from "./raw-client.js";

/** What the server does with requests and ACKs, driven packet by packet from a client of our own. */

async function firstReply(port: number, datagram: Buffer) {
  const client = await RawTftpClient.open();
  try {
    client.send(datagram, port);
    return (await client.receive()).packet;
  } finally {
    await client.close();
  }
}

const rrq = (filename: string, mode = "octet") => serializeRequest({ opcode: OPCODE.RRQ, filename, mode });

test("paths that leave the root get an error packet, never a file", async (t) => {
  const outside = await tempRoot(t);
  await writeFile(join(outside, "secret"), "not for PXE clients");
  const { port, root } = await startTestTftp(t);
  await mkdir(join(root, "boot"));
  await writeFile(join(root, "boot", "ok"), "inside");
  await symlink(join(outside, "secret"), join(root, "escape"));
  await symlink(outside, join(root, "escape-dir"));
  const refused = [
    "../secret",
    "boot/../../secret",
    `${outside}/secret`,
    "/etc/passwd",
    "..\\secret",
    "escape",
    "escape-dir/secret",
  ];
  for (const filename of refused) {
    const reply = await firstReply(port, rrq(filename));
    assert.equal(reply.opcode, OPCODE.ERROR, filename);
    if (reply.opcode === OPCODE.ERROR) assert.equal(reply.code, ERROR_CODE.accessViolation, filename);
  }
  const { data } = await rawDownload(port, "boot/ok");
  assert.equal(data.toString(), "inside");
});

test("a NUL inside the filename, a folder and a missing file get error packets", async (t) => {
  const { port, root } = await startTestTftp(t);
  await writeFile(join(root, "ipxe.efi"), "efi");
  await mkdir(join(root, "folder"));
  const withNul = Buffer.concat([Buffer.from([0, 1]), Buffer.from("ipxe.efi\0../../etc/passwd\0octet\0", "latin1")]);
  const cases: [Buffer, number][] = [
    [withNul, ERROR_CODE.illegalOperation],
    [rrq("folder"), ERROR_CODE.fileNotFound],
    [rrq("missing"), ERROR_CODE.fileNotFound],
    [rrq("ipxe.efi", "netascii"), ERROR_CODE.illegalOperation],
  ];
  for (const [datagram, code] of cases) {
    const reply = await firstReply(port, datagram);
    assert.ok(reply.opcode === OPCODE.ERROR && reply.code === code, `${JSON.stringify(datagram.toString("latin1"))}`);
  }
});

test("a write request is an access violation and writes nothing", async (t) => {
  const { port, root } = await startTestTftp(t);
  const reply = await firstReply(port, serializeRequest({ opcode: OPCODE.WRQ, filename: "new", mode: "octet" }));
  assert.deepEqual(reply, {
    opcode: OPCODE.ERROR,
    code: ERROR_CODE.accessViolation,
    message: "access violation: read-only server",
  });
  await assert.rejects(access(join(root, "new")), { code: "ENOENT" });
});

test("a lost ACK: the DATA is sent again from the transfer's own port", async (t) => {
  const { port, root, tftp } = await startTestTftp(t, { limits: { timeoutMs: 100 } });
  await writeRandomFile(join(root, "f"), 700);
  const client = await RawTftpClient.open();
  t.after(() => client.close());
  client.request(port, "f");
  const first = await client.receive();
  assert.ok(first.packet.opcode === OPCODE.DATA && first.packet.block === 1);
  assert.notEqual(first.from.port, port, "a transfer answers from its own ephemeral port");
  // No ACK: the same block comes again.
  const again = await client.receive();
  assert.ok(again.packet.opcode === OPCODE.DATA && again.packet.block === 1);
  assert.equal(again.from.port, first.from.port);
  assert.deepEqual(again.packet.data, first.packet.data);
  client.ack(1, first.from);
  let next = await client.receive();
  while (next.packet.opcode === OPCODE.DATA && next.packet.block === 1) next = await client.receive();
  assert.ok(next.packet.opcode === OPCODE.DATA && next.packet.block === 2 && next.packet.data.length === 188);
  client.ack(2, first.from);
  assert.match(tftp.metrics(), /airstrap_tftp_retransmits_total [1-9]/);
});

test("duplicate ACKs do not make the server send twice (Sorcerer's Apprentice)", async (t) => {
  const { port, root } = await startTestTftp(t, { limits: { timeoutMs: 60_000 } });
  await writeRandomFile(join(root, "f"), 4 * 512 + 1);
  const client = await RawTftpClient.open();
  t.after(() => client.close());
  client.request(port, "f");
  const { from } = await client.receive();
  for (let block = 1; block <= 4; block++) {
    for (let copy = 0; copy < 3; copy++) client.ack(block, from);
    // Were duplicates answered, block `block` would arrive again before `block + 1`.
    const { packet } = await client.receive();
    assert.ok(
      packet.opcode === OPCODE.DATA && packet.block === block + 1,
      `after ACK ${block}: ${JSON.stringify(packet)}`,
    );
  }
  client.ack(5, from);
});

test("after N retransmissions without an ACK the transfer is given up and reported", async (t) => {
  const { port, root, events, tftp } = await startTestTftp(t, { limits: { timeoutMs: 50, retries: 2 } });
  await writeRandomFile(join(root, "f"), 100);
  const client = await RawTftpClient.open();
  t.after(() => client.close());
  client.request(port, "f");
  const failed = await eventOf(events, "tftp.transfer.failed");
  assert.equal(failed.detail?.result, "timeout");
  const copies = [];
  for (let i = 0; i < 3; i++) copies.push((await client.receive()).packet);
  assert.ok(
    copies.every((packet) => packet.opcode === OPCODE.DATA && packet.block === 1),
    "the first send and 2 retries",
  );
  assert.equal(tftp.activeTransfers, 0);
  assert.match(tftp.metrics(), /airstrap_tftp_transfers_total\{result="timeout"\} 1/);
});

test("windowsize 64 with blksize 8 across the rollover: byte-exact, with tsize in the OACK", async (t) => {
  const { port, root } = await startTestTftp(t);
  const file = await writeRandomFile(join(root, "w"), 66_000 * 8 + 5);
  const { data, oack } = await rawDownload(port, "w", { blksize: "8", windowsize: "64", tsize: "0" });
  assert.deepEqual(
    oack,
    new Map([
      ["blksize", "8"],
      ["tsize", String(file.length)],
      ["windowsize", "64"],
    ]),
  );
  assert.ok(data.equals(file));
});

test("a repeated request from the same client port does not start a second transfer", async (t) => {
  const { port, root, tftp } = await startTestTftp(t, { limits: { timeoutMs: 60_000 } });
  await writeRandomFile(join(root, "f"), 10);
  const client = await RawTftpClient.open();
  t.after(() => client.close());
  client.request(port, "f");
  client.request(port, "f");
  const { packet, from } = await client.receive();
  assert.equal(packet.opcode, OPCODE.DATA);
  assert.equal(tftp.activeTransfers, 1);
  client.send(serializeAck(1), from.port);
});

test("beyond the transfer limit a request gets a busy error", async (t) => {
  const { port, root } = await startTestTftp(t, { limits: { timeoutMs: 60_000, maxTransfers: 1 } });
  await writeRandomFile(join(root, "f"), 10);
  const holder = await RawTftpClient.open();
  t.after(() => holder.close());
  holder.request(port, "f");
  await holder.receive();
  const reply = await firstReply(port, rrq("f"));
  assert.ok(reply.opcode === OPCODE.ERROR && /busy/.test(reply.message));
});

test("an empty file and a file of whole blocks end with an empty DATA block", async (t) => {
  const { port, root } = await startTestTftp(t);
  await writeFile(join(root, "empty"), "");
  const whole = await writeRandomFile(join(root, "whole"), 4 * 1024);
  assert.equal((await rawDownload(port, "empty")).data.length, 0);
  assert.ok((await rawDownload(port, "whole", { blksize: "1024" })).data.equals(whole));
  assert.ok((await rawDownload(port, "whole", { blksize: "1024", windowsize: "4" })).data.equals(whole));
});
