import { createSocket } from "node:dgram";
import { connect } from "node:net";
import { serverOf } from "../../peers/dig.js";

/** Hand-made packets for what dig cannot send (malformed queries, pipelined TCP). */

export function rawQuery(id: number, name: string, type: number, options: { flags?: number } = {}): Buffer {
  const labels = name.split(".").filter(Boolean);
  const question = Buffer.concat([
    ...labels.map((label) => Buffer.concat([Buffer.from([label.length]), Buffer.from(label, "latin1")])),
    Buffer.from([0, type >> 8, type & 0xff, 0, 1]),
  ]);
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(options.flags ?? 0x0100, 2);
  header.writeUInt16BE(1, 4);
  return Buffer.concat([header, question]);
}

/** Sends one datagram; resolves with the first reply, or undefined after `waitMs`. */
export function udpExchange(server: string, message: Buffer, waitMs = 2000): Promise<Buffer | undefined> {
  const { address, port } = serverOf(server);
  return new Promise((resolve) => {
    const socket = createSocket(address.includes(":") ? "udp6" : "udp4");
    const timer = setTimeout(() => {
      socket.close();
      resolve(undefined);
    }, waitMs);
    socket.on("message", (reply) => {
      clearTimeout(timer);
      socket.close();
      resolve(reply);
    });
    socket.send(message, port, address);
  });
}

/** Writes all messages at once on one connection (pipelined) and collects `expect` framed replies. */
export function tcpPipeline(
  server: string,
  messages: Buffer[],
  expect = messages.length,
  options: { halfClose?: boolean } = {},
): Promise<Buffer[]> {
  const { address, port } = serverOf(server);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: address, port });
    const replies: Buffer[] = [];
    let buffered = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`got ${replies.length} of ${expect} replies`));
    }, 10_000);
    socket.on("error", reject);
    socket.on("connect", () => {
      socket.write(
        Buffer.concat(messages.map((m) => Buffer.concat([Buffer.from([m.length >> 8, m.length & 0xff]), m]))),
      );
      if (options.halfClose) socket.end();
    });
    socket.on("data", (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const size = buffered.readUInt16BE(0);
        replies.push(buffered.subarray(2, 2 + size));
        buffered = buffered.subarray(2 + size);
      }
      if (replies.length >= expect) {
        clearTimeout(timer);
        socket.destroy();
        resolve(replies);
      }
    });
  });
}

export const rcodeOf = (reply: Buffer) => reply[3]! & 0x0f;
export const idOf = (reply: Buffer) => reply.readUInt16BE(0);
/** The address of a reply whose last record is an A record (the site data the tests ask for). */
export const lastAddressOf = (reply: Buffer | undefined) =>
  reply === undefined ? undefined : [...reply.subarray(reply.length - 4)].join(".");

/** One TCP connection kept open: ask one query at a time on it. */
export async function openTcp(server: string): Promise<{ ask(message: Buffer): Promise<Buffer>; close(): void }> {
  const { address, port } = serverOf(server);
  const socket = connect({ host: address, port });
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  let buffered = Buffer.alloc(0);
  let waiting: ((reply: Buffer) => void) | undefined;
  socket.on("data", (chunk) => {
    buffered = Buffer.concat([buffered, chunk]);
    if (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
      const reply = buffered.subarray(2, 2 + buffered.readUInt16BE(0));
      buffered = buffered.subarray(2 + reply.length);
      waiting?.(reply);
    }
  });
  return {
    ask: (message) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("no reply on the open connection")), 5000);
        waiting = (reply) => {
          clearTimeout(timer);
          resolve(reply);
        };
        socket.write(Buffer.concat([Buffer.from([message.length >> 8, message.length & 0xff]), message]));
      }),
    close: () => socket.destroy(),
  };
}
