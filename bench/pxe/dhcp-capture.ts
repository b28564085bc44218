import type { ChildProcess } from "node:child_process";
import { readFile } from "node:fs/promises";
import { decodeMessage, Option } from "../../src/services/dhcp/wire.js";
import type { PxeNetwork } from "../../test/peers/pxe-network.js";
import { waitForOutput } from "../../test/peers/pxe-network.js";

/**
 * DHCP packets as a server's interface sees them, timestamped by the kernel (tcpdump in the
 * server's namespace): a DISCOVER when it arrives, an offer when it leaves. The time between the
 * two is the server's own latency (its socket queue, scheduling and answering), without the
 * client's event loop in it.
 */

export interface CapturedPacket {
  /** Microseconds (kernel timestamp). */
  at: number;
  op: number;
  xid: number;
  type: number;
}

export interface Capture {
  stop(): Promise<{ packets: CapturedPacket[]; dropped: number }>;
}

export async function startCapture(network: PxeNetwork, machine: string, file: string): Promise<Capture> {
  const child: ChildProcess = network.spawn(machine, [
    "tcpdump",
    "-i",
    "eth0",
    "-n",
    "-U",
    "-B",
    "16384",
    "-w",
    file,
    "udp and (port 67 or port 68)",
  ]);
  await waitForOutput(child, /listening on eth0/);
  let said = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    said += chunk.toString();
  });
  return {
    async stop() {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGINT");
      await exited;
      const dropped = Number(/(\d+) packets? dropped by kernel/.exec(said)?.[1] ?? 0);
      return { packets: parsePcap(await readFile(file)), dropped };
    },
  };
}

/** A pcap file of Ethernet frames → the BOOTP/DHCP messages in it (others skipped). */
export function parsePcap(pcap: Buffer): CapturedPacket[] {
  const magic = pcap.readUInt32LE(0);
  const nanos = magic === 0xa1b23c4d;
  if (magic !== 0xa1b2c3d4 && !nanos) throw new Error("not a little-endian pcap file");
  const packets: CapturedPacket[] = [];
  let at = 24;
  while (at + 16 <= pcap.length) {
    const seconds = pcap.readUInt32LE(at);
    const fraction = pcap.readUInt32LE(at + 4);
    const length = pcap.readUInt32LE(at + 8);
    const frame = pcap.subarray(at + 16, at + 16 + length);
    at += 16 + length;
    if (frame.length < 14 + 20 + 8 || frame.readUInt16BE(12) !== 0x0800 || frame[14 + 9] !== 17) continue;
    const ipHeader = (frame[14]! & 0x0f) * 4;
    try {
      const message = decodeMessage(frame.subarray(14 + ipHeader + 8));
      packets.push({
        at: seconds * 1e6 + (nanos ? fraction / 1000 : fraction),
        op: message.op,
        xid: message.xid,
        type: message.options.get(Option.MESSAGE_TYPE)?.[0] ?? 0,
      });
    } catch {
      // Not a DHCP message.
    }
  }
  return packets;
}
