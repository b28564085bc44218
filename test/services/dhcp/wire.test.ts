import assert from "node:assert/strict";
import { test } from "node:test";
import {
  BOOTREQUEST,
  decodeMessage,
  encodeMessage,
  MAGIC_COOKIE,
  MalformedMessage,
  MessageType,
  macOf,
  Option,
} from "../../../src/services/dhcp/wire.js";

const mac = Buffer.from([0x52, 0x54, 0x00, 0xa1, 0x9c, 0xae]);

function discover(options: [number, Buffer][] = []): Buffer {
  return encodeMessage({
    op: BOOTREQUEST,
    xid: 0xdeadbeef,
    flags: 0x8000,
    chaddr: mac,
    options: [[Option.MESSAGE_TYPE, Buffer.from([MessageType.DISCOVER])], ...options],
  });
}

test("round trip: header fields, options in order, END, padded to 300 bytes", () => {
  const datagram = encodeMessage({
    op: 2,
    xid: 7,
    flags: 0x8000,
    yiaddr: "10.1.2.3",
    siaddr: "10.1.2.1",
    giaddr: "10.9.9.9",
    chaddr: mac,
    sname: "boot",
    file: "undionly.kpxe",
    options: [
      [Option.MESSAGE_TYPE, Buffer.from([2])],
      [Option.VENDOR_CLASS, Buffer.from("PXEClient")],
    ],
  });
  assert.equal(datagram.length, 300);
  assert.equal(datagram.readUInt32BE(236), MAGIC_COOKIE);
  const message = decodeMessage(datagram);
  assert.equal(message.op, 2);
  assert.equal(message.xid, 7);
  assert.equal(message.flags, 0x8000);
  assert.equal(message.yiaddr, "10.1.2.3");
  assert.equal(message.siaddr, "10.1.2.1");
  assert.equal(message.giaddr, "10.9.9.9");
  assert.equal(message.ciaddr, "0.0.0.0");
  assert.equal(message.sname, "boot");
  assert.equal(message.file, "undionly.kpxe");
  assert.equal(macOf(message), "52:54:00:a1:9c:ae");
  assert.deepEqual([...message.options.keys()], [53, 60]);
  assert.equal(message.options.get(60)?.toString(), "PXEClient");
});

test("a value over 255 bytes is split on encode and concatenated on decode (RFC 3396)", () => {
  const long = Buffer.alloc(600, 0x61);
  const datagram = discover([[Option.USER_CLASS, long]]);
  assert.deepEqual(decodeMessage(datagram).options.get(Option.USER_CLASS), long);
});

test("option overload: options read from file, then sname; those fields are not text", () => {
  const datagram = discover([[Option.OVERLOAD, Buffer.from([3])]]);
  Buffer.from([Option.HOSTNAME, 2, 0x68, 0x69, Option.END]).copy(datagram, 108);
  Buffer.from([Option.HOSTNAME, 1, 0x21, Option.PAD, Option.END]).copy(datagram, 44);
  const message = decodeMessage(datagram);
  assert.equal(message.options.get(Option.HOSTNAME)?.toString(), "hi!");
  assert.equal(message.file, "");
  assert.equal(message.sname, "");
  assert.equal(message.options.has(Option.OVERLOAD), false);
});

test("malformed: short, wrong cookie, huge hlen, option past the end, overload pointing nowhere", () => {
  const good = discover();
  const bad = (mutate: (b: Buffer) => Buffer, why: RegExp) =>
    assert.throws(
      () => decodeMessage(mutate(Buffer.from(good))),
      (e: unknown) => e instanceof MalformedMessage && why.test((e as Error).message),
    );
  bad((b) => b.subarray(0, 239), /shorter/);
  bad((b) => {
    b.writeUInt32BE(0x63825364, 236);
    return b;
  }, /cookie/);
  bad((b) => {
    b[2] = 17;
    return b;
  }, /hardware address length/);
  // option 12 claims 200 bytes, the datagram has fewer
  bad((b) => Buffer.concat([b.subarray(0, 243), Buffer.from([12, 200, 1, 2])]), /runs past/);
  // a code with no length byte at the very end
  bad((b) => Buffer.concat([b.subarray(0, 243), Buffer.from([12])]), /no length/);
  // overload with a bad value, and overload into a file that holds an option cut by its end
  bad((b) => Buffer.concat([b.subarray(0, 243), Buffer.from([52, 1, 9, 255])]), /overload/);
  bad((b) => {
    const out = Buffer.concat([b.subarray(0, 243), Buffer.from([52, 1, 1, 255])]);
    out[108 + 126] = 12;
    out[108 + 127] = 5;
    return out;
  }, /in file runs past/);
  bad((b) => {
    const out = Buffer.concat([b.subarray(0, 243), Buffer.from([52, 1, 1, 255])]);
    Buffer.from([52, 1, 2, 255]).copy(out, 108);
    return out;
  }, /option 52 inside file/);
});

test("options area without END is accepted; pads are skipped", () => {
  const datagram = Buffer.concat([discover().subarray(0, 243), Buffer.from([0, 0, 12, 1, 0x78])]);
  const message = decodeMessage(datagram);
  assert.equal(message.options.get(Option.HOSTNAME)?.toString(), "x");
  assert.equal(message.options.get(Option.MESSAGE_TYPE)?.[0], MessageType.DISCOVER);
});

test("encode refuses a boot file that does not fit rather than truncating it", () => {
  assert.throws(
    () => encodeMessage({ op: 2, xid: 1, chaddr: mac, file: "x".repeat(128), options: [] }),
    /does not fit/,
  );
});
