import assert from "node:assert/strict";
import { test } from "node:test";
import {
  isMalformed,
  MAX_OPTIONS,
  OPCODE,
  parsePacket,
  serializeAck,
  serializeData,
  serializeError,
  serializeOack,
  serializeRequest,
} from "../../../src/services/tftp/wire.js";

const bytes = (...parts: (number[] | string)[]) =>
  Buffer.concat(parts.map((part) => (typeof part === "string" ? Buffer.from(part, "latin1") : Buffer.from(part))));

test("a read request with options parses; option names are case-insensitive", () => {
  const packet = parsePacket(bytes([0, 1], "undionly.kpxe\0OCTET\0BlkSize\0" + "1468\0tsize\0" + "0\0"));
  assert.deepEqual(packet, {
    opcode: OPCODE.RRQ,
    filename: "undionly.kpxe",
    mode: "octet",
    options: new Map([
      ["blksize", "1468"],
      ["tsize", "0"],
    ]),
  });
});

test("requests, ACK, DATA, ERROR and OACK survive serialize → parse", () => {
  const options = new Map([["windowsize", "8"]]);
  assert.deepEqual(parsePacket(serializeRequest({ opcode: OPCODE.WRQ, filename: "a/b", mode: "octet", options })), {
    opcode: OPCODE.WRQ,
    filename: "a/b",
    mode: "octet",
    options,
  });
  assert.deepEqual(parsePacket(serializeAck(65536 + 7)), { opcode: OPCODE.ACK, block: 7 });
  assert.deepEqual(parsePacket(serializeData(65536, Buffer.from("xyz"))), {
    opcode: OPCODE.DATA,
    block: 0,
    data: Buffer.from("xyz"),
  });
  assert.deepEqual(parsePacket(serializeError(2, "access violation")), {
    opcode: OPCODE.ERROR,
    code: 2,
    message: "access violation",
  });
  assert.deepEqual(parsePacket(serializeOack(options)), { opcode: OPCODE.OACK, options });
});

test("an error message never carries control characters onto the wire", () => {
  const packet = serializeError(1, "no\nsuch\0file");
  assert.equal(packet.subarray(4, -1).toString("latin1"), "no?such?file");
  assert.equal(packet.at(-1), 0);
});

test("malformed datagrams are named, never thrown", () => {
  const cases: [string, Buffer][] = [
    ["empty", bytes([])],
    ["one byte", bytes([0])],
    ["unknown opcode", bytes([0, 9], "x\0octet\0")],
    ["opcode zero", bytes([0, 0])],
    ["request without NUL after the filename", bytes([0, 1], "file")],
    ["request without mode", bytes([0, 1], "file\0")],
    ["request without NUL after the mode", bytes([0, 1], "file\0octet")],
    ["empty filename", bytes([0, 1], "\0octet\0")],
    ["option without value", bytes([0, 1], "f\0octet\0blksize\0")],
    ["option value without NUL", bytes([0, 1], "f\0octet\0blksize\0" + "1468")],
    ["empty option name", bytes([0, 1], "f\0octet\0\0" + "1\0")],
    ["option twice", bytes([0, 1], "f\0octet\0tsize\0" + "0\0TSIZE\0" + "0\0")],
    ["control character in filename", bytes([0, 1], "a\nb\0octet\0")],
    ["high byte in filename", bytes([0, 1], [0xc3, 0xa9], "\0octet\0")],
    ["filename over 255 bytes", bytes([0, 1], `${"a".repeat(256)}\0octet\0`)],
    ["ACK too short", bytes([0, 4, 0])],
    ["ACK too long", bytes([0, 4, 0, 1, 0])],
    ["DATA without block", bytes([0, 3, 0])],
    ["DATA over the largest block", Buffer.concat([bytes([0, 3, 0, 1]), Buffer.alloc(65465)])],
    ["ERROR without message", bytes([0, 5, 0, 1])],
    ["ERROR message without NUL", bytes([0, 5, 0, 1], "oops")],
    ["ERROR with two strings", bytes([0, 5, 0, 1], "a\0b\0")],
  ];
  for (const [name, datagram] of cases) {
    const result = parsePacket(datagram);
    assert.ok(isMalformed(result), `${name}: parsed as ${JSON.stringify(result)}`);
  }
  const tooMany = Array.from({ length: MAX_OPTIONS + 1 }, (_, i) => `o${i}\0${i}\0`).join("");
  assert.ok(isMalformed(parsePacket(bytes([0, 1], `f\0octet\0${tooMany}`))));
});

test("a NUL inside the filename ends it: the rest is read as the mode and the request stays malformed", () => {
  const result = parsePacket(bytes([0, 1], "ipxe.efi\0../../etc/passwd\0"));
  assert.ok(!isMalformed(result) && result.opcode === OPCODE.RRQ);
  assert.equal(result.filename, "ipxe.efi");
  assert.equal(result.mode, "../../etc/passwd");
});
