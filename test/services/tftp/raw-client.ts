import { createSocket, type RemoteInfo, type Socket } from "node:dgram";
import {
  isMalformed,
  OPCODE,
  type Packet,
  parsePacket,
  serializeAck,
  serializeRequest,
} from "../../../src/services/tftp/wire.js";

/**
 * A TFTP client of the test's own on a UDP socket: it sends exactly what a test asks, so it can
 * withhold an ACK, repeat one, or ask for a window no installed client offers.
 */
export class RawTftpClient {
  private readonly queue: { packet: Packet; from: RemoteInfo }[] = [];
  private waiter: (() => void) | undefined;

  private constructor(readonly socket: Socket) {
    socket.on("message", (datagram, from) => {
      const packet = parsePacket(datagram);
      if (isMalformed(packet)) throw new Error(`server sent a malformed packet: ${packet.malformed}`);
      this.queue.push({ packet, from });
      this.waiter?.();
    });
  }

  static async open(): Promise<RawTftpClient> {
    const socket = createSocket("udp4");
    await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
    return new RawTftpClient(socket);
  }

  private readonly sending = new Set<Promise<void>>();

  send(datagram: Buffer, port: number, address = "127.0.0.1"): void {
    const sent = new Promise<void>((resolve) => this.socket.send(datagram, port, address, () => resolve()));
    this.sending.add(sent);
    void sent.then(() => this.sending.delete(sent));
  }

  request(port: number, filename: string, options: Record<string, string> = {}): void {
    const packet = serializeRequest({
      opcode: OPCODE.RRQ,
      filename,
      mode: "octet",
      options: new Map(Object.entries(options)),
    });
    this.send(packet, port);
  }

  ack(block: number, to: RemoteInfo): void {
    this.send(serializeAck(block), to.port, to.address);
  }

  /** The next packet; rejects after `ms` (generous: a stalled server, not a slow one, fails). */
  async receive(ms = 10_000): Promise<{ packet: Packet; from: RemoteInfo }> {
    const deadline = Date.now() + ms;
    while (this.queue.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no packet within ${ms} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = undefined;
    }
    return this.queue.shift()!;
  }

  /** Closes once every datagram asked for has left (closing earlier would cancel the last ACK). */
  async close(): Promise<void> {
    await Promise.all(this.sending);
    this.socket.close();
  }
}

/**
 * Downloads `filename` with the given options (acknowledging every full window, or the last
 * block in order after a gap, as RFC 7440 says) and returns the bytes and the OACK's options.
 */
export async function rawDownload(
  port: number,
  filename: string,
  options: Record<string, string> = {},
): Promise<{ data: Buffer; oack: Map<string, string> | undefined }> {
  const client = await RawTftpClient.open();
  try {
    client.request(port, filename, options);
    let windowsize = 1;
    let oack: Map<string, string> | undefined;
    const parts: Buffer[] = [];
    let expected = 1;
    let inWindow = 0;
    for (;;) {
      const { packet, from } = await client.receive();
      if (packet.opcode === OPCODE.ERROR) throw new Error(`server error ${packet.code}: ${packet.message}`);
      if (packet.opcode === OPCODE.OACK) {
        oack = packet.options;
        windowsize = Number(oack.get("windowsize") ?? 1);
        client.ack(0, from);
        continue;
      }
      if (packet.opcode !== OPCODE.DATA) throw new Error(`unexpected opcode ${packet.opcode}`);
      if (packet.block !== (expected & 0xffff)) {
        client.ack((expected - 1) & 0xffff, from);
        inWindow = 0;
        continue;
      }
      parts.push(Buffer.from(packet.data));
      expected += 1;
      inWindow += 1;
      const last = packet.data.length < Number(oack?.get("blksize") ?? 512);
      if (last || inWindow === windowsize) {
        client.ack(packet.block, from);
        inWindow = 0;
      }
      if (last) return { data: Buffer.concat(parts), oack };
    }
  } finally {
    await client.close();
  }
}
