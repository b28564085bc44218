/**
 * A scripted DHCP client (run as a process, typically inside a client namespace): binds the client
 * port, sends one DISCOVER per MAC in a burst, collects every reply until `waitMs` after the last
 * send, and prints one JSON object: what came back, from whom, and how long each took.
 * Usage: node --import tsx test/peers/dhcp-discover.ts '<json DiscoverPlan>' [rounds] [pause-ms]
 * With rounds, the burst is repeated (fresh xids each time) and one JSON array is printed.
 */
import { createSocket } from "node:dgram";
import { performance } from "node:perf_hooks";
import { BOOTREQUEST, decodeMessage, encodeMessage, MessageType, macOf, Option } from "../../src/services/dhcp/wire.js";

export interface DiscoverPlan {
  macs: string[];
  to?: string;
  serverPort?: number;
  clientPort?: number;
  /** Vendor class 60 (e.g. "PXEClient:Arch:00000:UNDI:002001"); absent = a plain client. */
  vendor?: string;
  arch?: number;
  /** How long to keep listening after the last DISCOVER. */
  waitMs?: number;
  /** Spread the DISCOVERs evenly over this many milliseconds instead of one burst. */
  spreadMs?: number;
  /** Stop early once this many replies came. */
  expect?: number;
  xidBase?: number;
}

export interface DiscoverReply {
  xid: number;
  mac: string;
  type: number;
  from: string;
  yiaddr: string;
  siaddr: string;
  file: string;
  vendor: string | undefined;
  serverId: string | undefined;
  latencyMs: number;
}

export interface DiscoverResult {
  sent: number;
  /** The DISCOVERs carry xids xidBase, xidBase + 1, … in the order of `macs`. */
  xidBase: number;
  sendErrors: number;
  /** From the first DISCOVER to the last reply. */
  elapsedMs: number;
  replies: DiscoverReply[];
}

function macBytes(mac: string): Buffer {
  return Buffer.from(mac.split(":").map((part) => Number.parseInt(part, 16)));
}

/** The DISCOVER this client sends for one MAC (broadcast flag set). */
export function discoverDatagram(plan: Pick<DiscoverPlan, "vendor" | "arch">, mac: string, xid: number): Buffer {
  const options: [number, Buffer][] = [[Option.MESSAGE_TYPE, Buffer.from([MessageType.DISCOVER])]];
  if (plan.vendor) options.push([Option.VENDOR_CLASS, Buffer.from(plan.vendor)]);
  if (plan.arch !== undefined) options.push([Option.CLIENT_ARCH, Buffer.from([plan.arch >> 8, plan.arch & 0xff])]);
  options.push([Option.PARAMETER_REQUEST_LIST, Buffer.from([1, 3, 6, 15, 66, 67])]);
  return encodeMessage({ op: BOOTREQUEST, xid, flags: 0x8000, chaddr: macBytes(mac), options });
}

export async function discover(plan: DiscoverPlan): Promise<DiscoverResult> {
  const socket = createSocket({ type: "udp4", reuseAddr: true });
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(plan.clientPort ?? 68, "0.0.0.0", () => resolve());
  });
  socket.setBroadcast(true);
  try {
    socket.setRecvBufferSize(4 * 1024 * 1024);
  } catch {
    // The default buffer is enough for small runs.
  }
  const xidBase = plan.xidBase ?? Math.floor(Math.random() * 0x7fff0000);
  const sentAt = new Map<number, number>();
  const replies: DiscoverReply[] = [];
  let lastReply = 0;
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  socket.on("message", (datagram, from) => {
    const at = performance.now();
    let message: ReturnType<typeof decodeMessage>;
    try {
      message = decodeMessage(datagram);
    } catch {
      return;
    }
    const started = sentAt.get(message.xid);
    if (message.op !== 2 || started === undefined) return;
    const address = (code: number) => {
      const value = message.options.get(code);
      return value?.length === 4 ? [...value].join(".") : undefined;
    };
    replies.push({
      xid: message.xid,
      mac: macOf(message),
      type: message.options.get(Option.MESSAGE_TYPE)?.[0] ?? 0,
      from: from.address,
      yiaddr: message.yiaddr,
      siaddr: message.siaddr,
      file: message.file,
      vendor: message.options.get(Option.VENDOR_CLASS)?.toString("latin1"),
      serverId: address(Option.SERVER_ID),
      latencyMs: at - started,
    });
    lastReply = at;
    if (plan.expect !== undefined && replies.length >= plan.expect) finish();
  });
  let sendErrors = 0;
  const start = performance.now();
  const sends: Promise<void>[] = [];
  for (const [index, mac] of plan.macs.entries()) {
    if (plan.spreadMs !== undefined) {
      const due = start + (index * plan.spreadMs) / plan.macs.length;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
    const xid = (xidBase + index) >>> 0;
    const datagram = discoverDatagram(plan, mac, xid);
    sentAt.set(xid, performance.now());
    sends.push(
      new Promise<void>((resolve) =>
        socket.send(datagram, plan.serverPort ?? 67, plan.to ?? "255.255.255.255", (error) => {
          if (error) sendErrors += 1;
          resolve();
        }),
      ),
    );
  }
  await Promise.all(sends);
  const timer = setTimeout(finish, plan.waitMs ?? 1500);
  await finished;
  clearTimeout(timer);
  socket.close();
  return { sent: plan.macs.length, xidBase, sendErrors, elapsedMs: (lastReply || performance.now()) - start, replies };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const plan = JSON.parse(process.argv[2] ?? "{}") as DiscoverPlan;
  const rounds = process.argv[3] === undefined ? undefined : Number(process.argv[3]);
  const pauseMs = Number(process.argv[4] ?? 200);
  const repeated = async () => {
    const results: DiscoverResult[] = [];
    for (let round = 0; round < (rounds ?? 1); round++) {
      results.push(await discover(plan));
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
    return rounds === undefined ? results[0] : results;
  };
  repeated().then(
    (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
    (error: Error) => {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    },
  );
}
