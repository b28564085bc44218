import { createSocket, type Socket } from "node:dgram";
import { rawQuery } from "./raw-client.js";

/** A tiny UDP fault injector playing an upstream: silent, lying, or recording what it is sent. */

export interface SeenQuery {
  id: number;
  port: number;
  message: Buffer;
}

export interface FakeUpstream {
  endpoint: { address: string; port: number };
  seen: SeenQuery[];
  close(): Promise<void>;
}

export type Behaviour = (query: Buffer) => Buffer[];

export async function startFakeUpstream(address: string, behaviour: Behaviour): Promise<FakeUpstream> {
  const socket: Socket = createSocket("udp4");
  const seen: SeenQuery[] = [];
  socket.on("message", (message, remote) => {
    seen.push({ id: message.readUInt16BE(0), port: remote.port, message });
    for (const reply of behaviour(message)) socket.send(reply, remote.port, remote.address);
  });
  await new Promise<void>((resolve) => socket.bind({ address, port: 0 }, () => resolve()));
  return {
    endpoint: { address, port: socket.address().port },
    seen,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/** A response for `name` A with one address, id of our choosing. */
export function answerFor(id: number, name: string, address: string): Buffer {
  const question = rawQuery(id, name, 1, { flags: 0x8180 });
  question.writeUInt16BE(1, 6);
  const record = Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 1, 44, 0, 4, ...address.split(".").map(Number)]);
  return Buffer.concat([question, record]);
}

/** The lower-case question name of a query (uncompressed). */
export function questionName(message: Buffer): string {
  const labels: string[] = [];
  let offset = 12;
  while (message[offset]! > 0) {
    labels.push(message.toString("latin1", offset + 1, offset + 1 + message[offset]!));
    offset += message[offset]! + 1;
  }
  return labels.join(".").toLowerCase();
}

export const silent: Behaviour = () => [];
