import { createSocket, type RemoteInfo, type Socket } from "node:dgram";
import { isIPv6 } from "node:net";
import { formatEndpoint } from "../../net/endpoint.js";
import type { TftpConfig, TftpEndpoint } from "./config.js";
import { FileBlocks } from "./file-blocks.js";
import type { TftpMetrics, TransferResult } from "./metrics.js";
import { negotiate } from "./options.js";
import type { RequestRefusal, TransferReport } from "./reports.js";
import { openInsideRoot } from "./root.js";
import { ReadTransfer, type Step } from "./transfer.js";
import {
  ERROR_CODE,
  isMalformed,
  OPCODE,
  parsePacket,
  type RequestPacket,
  serializeError,
  serializeOack,
} from "./wire.js";

/**
 * The sockets of the TFTP server: one listening socket per address, and one socket per transfer,
 * bound to an ephemeral port of the same address and connected to the client (RFC 1350: each side
 * of a transfer has its own TID). The kernel then drops anything from another address or port.
 */

const stopping = { code: ERROR_CODE.notDefined, message: "server stopping" };

/** File bytes read at once; most blocks are then slices of memory already read. */
const CHUNK_BYTES = 1 << 20;

export interface ServerContext {
  /** Read at each request, so a reload applies to the next transfer. */
  current(): { config: TftpConfig; realRoot: string };
  metrics: TftpMetrics;
  onTransferEnd(report: TransferReport): void;
  onRefused(refusal: RequestRefusal): void;
  /** A listening socket's error after it was bound (an ICMP report for a datagram we sent, a refused send). */
  onSocketError(error: Error): void;
}

export interface TftpListener {
  endpoint: TftpEndpoint;
  bound: TftpEndpoint;
  close(): Promise<void>;
}

export class TftpServer {
  private readonly transfers = new Map<string, Sender>();

  /** Node reports a refused send only to a send callback, never as an "error" event. */
  private readonly sentFromListener = (error: Error | null) => {
    if (error) this.context.onSocketError(error);
  };

  constructor(private readonly context: ServerContext) {}

  get activeTransfers(): number {
    return this.transfers.size;
  }

  async listen(endpoint: TftpEndpoint): Promise<TftpListener> {
    const socket = udpSocket(endpoint.address);
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind({ address: endpoint.address, port: endpoint.port, exclusive: true }, () => {
        socket.off("error", reject);
        resolve();
      });
    });
    // Errors after binding concern one datagram only: counted and told, the socket serves on.
    socket.on("error", (error) => this.context.onSocketError(error));
    socket.on("message", (datagram, from) => this.onRequest(socket, endpoint.address, datagram, from));
    const bound = { address: endpoint.address, port: socket.address().port };
    return { endpoint, bound, close: () => new Promise<void>((resolve) => socket.close(() => resolve())) };
  }

  /** Ends every transfer in progress (their clients see them stop). */
  async abortAll(): Promise<void> {
    await Promise.all(
      [...this.transfers.values()].map((sender) => sender.finish("aborted", "server stopping", stopping)),
    );
  }

  private sendError(listener: Socket, to: RemoteInfo, code: number, message: string): void {
    this.context.metrics.errorSent(code);
    listener.send(serializeError(code, message), to.port, to.address, this.sentFromListener);
  }

  private onRequest(listener: Socket, localAddress: string, datagram: Buffer, from: RemoteInfo): void {
    const packet = parsePacket(datagram);
    const client = formatEndpoint(from);
    if (isMalformed(packet)) {
      this.context.metrics.malformed += 1;
      // A request we cannot read is told so (a NUL inside a file name ends here); other garbage is dropped.
      if (isRequestOpcode(datagram))
        this.sendError(listener, from, ERROR_CODE.illegalOperation, `malformed request: ${packet.malformed}`);
      return;
    }
    if (packet.opcode !== OPCODE.RRQ && packet.opcode !== OPCODE.WRQ) {
      this.context.metrics.malformed += 1;
      return;
    }
    const refuse = (code: number, message: string) => {
      this.context.onRefused({ client, file: packet.filename, code, message });
      this.sendError(listener, from, code, message);
    };
    if (packet.opcode === OPCODE.WRQ) {
      refuse(ERROR_CODE.accessViolation, "access violation: read-only server");
      return;
    }
    if (packet.mode !== "octet") {
      refuse(ERROR_CODE.illegalOperation, "only octet (binary) mode is served");
      return;
    }
    const key = `${localAddress}|${client}`;
    // The client sent its request again before our first packet reached it: that transfer answers.
    if (this.transfers.has(key)) return;
    const { config, realRoot } = this.context.current();
    if (this.transfers.size >= config.maxTransfers) {
      refuse(ERROR_CODE.notDefined, "server busy, try again");
      return;
    }
    const sender = new Sender(this.context, config, client, () => this.transfers.delete(key));
    this.transfers.set(key, sender);
    void sender.run(realRoot, packet, localAddress, from).catch((error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      void sender.finish("failed", message, { code: ERROR_CODE.notDefined, message: "cannot send the file" });
    });
  }
}

/** One read transfer: its socket, its file and its state machine. */
class Sender {
  private socket: Socket | undefined;
  private transfer: ReadTransfer | undefined;
  private blocks: FileBlocks | undefined;
  private oack: Buffer | undefined;
  private timer: NodeJS.Timeout | undefined;
  private timeoutMs: number;
  private file = "";
  private readonly started = Date.now();
  /** Bumped at every step: a window read from disk is sent only if no newer step came meanwhile. */
  private generation = 0;
  private ended = false;
  private connected = false;

  constructor(
    private readonly context: ServerContext,
    private readonly config: TftpConfig,
    private readonly client: string,
    private readonly release: () => void,
  ) {
    context.metrics.active += 1;
    this.timeoutMs = config.timeoutMs;
  }

  async run(realRoot: string, request: RequestPacket, localAddress: string, from: RemoteInfo): Promise<void> {
    this.file = request.filename;
    const socket = udpSocket(localAddress);
    this.socket = socket;
    // ECONNREFUSED after an ICMP "port unreachable": the client has gone.
    socket.on("error", (error) => void this.finish("failed", error.message));
    await new Promise<void>((resolve) => socket.bind({ address: localAddress, port: 0 }, resolve));
    await new Promise<void>((resolve) => socket.connect(from.port, from.address, resolve));
    this.connected = true;
    if (this.ended) return;
    const opened = await openInsideRoot(realRoot, request.filename);
    if (!("handle" in opened)) {
      this.context.onRefused({ client: this.client, file: request.filename, ...opened });
      return this.finish("aborted", opened.message, opened);
    }
    this.file = opened.name;
    if (this.ended) return opened.handle.close();
    const negotiated = negotiate(request.options, opened.size, this.config);
    this.timeoutMs = negotiated.timeoutMs;
    const hasOack = negotiated.accepted.size > 0;
    if (hasOack) this.oack = serializeOack(negotiated.accepted);
    const transfer = new ReadTransfer({
      size: opened.size,
      blksize: negotiated.blksize,
      windowsize: negotiated.windowsize,
      oack: hasOack,
      retries: this.config.retries,
    });
    this.transfer = transfer;
    const range = (block: number) => transfer.blockRange(block);
    this.blocks = new FileBlocks(opened.handle, negotiated.blksize, transfer.lastBlock, range, CHUNK_BYTES);
    socket.on("message", (datagram) => this.onMessage(datagram));
    this.timer = setTimeout(() => this.onTimeout(), this.timeoutMs);
    this.act(this.transfer.start());
  }

  private onMessage(datagram: Buffer): void {
    // The hot path: an ACK, read without building a packet object.
    if (datagram.length === 4 && datagram[0] === 0 && datagram[1] === OPCODE.ACK) {
      this.act(this.transfer!.ack(datagram.readUInt16BE(2)));
      return;
    }
    const packet = parsePacket(datagram);
    if (!isMalformed(packet) && packet.opcode === OPCODE.ACK) {
      this.act(this.transfer!.ack(packet.block));
    } else if (!isMalformed(packet) && packet.opcode === OPCODE.ERROR) {
      void this.finish("client-error", `client sent error ${packet.code}: ${packet.message}`);
    } else {
      this.context.metrics.malformed += 1;
    }
  }

  private onTimeout(): void {
    const step = this.transfer!.timeout();
    if (step.kind === "send" || step.kind === "send-oack") this.context.metrics.retransmits += 1;
    this.act(step);
  }

  private act(step: Step): void {
    if (this.ended) return;
    switch (step.kind) {
      case "ignore":
        return;
      case "done":
        void this.finish("complete");
        return;
      case "give-up":
        void this.finish("timeout", `no ACK after ${this.config.retries} retransmissions`);
        return;
      case "send-oack":
        this.generation += 1;
        this.socket!.send(this.oack!);
        this.timer!.refresh();
        return;
      case "send":
        this.sendWindow(step.first, step.last);
    }
  }

  private sendWindow(first: number, last: number): void {
    const generation = ++this.generation;
    if (this.blocks!.covers(first, last)) {
      this.sendLoaded(first, last);
      return;
    }
    this.blocks!.load(first, last).then(
      () => {
        if (!this.ended && generation === this.generation) this.sendLoaded(first, last);
      },
      (error: Error) => void this.finish("failed", error.message, { code: 0, message: "cannot read the file" }),
    );
  }

  private sendLoaded(first: number, last: number): void {
    for (let block = first; block <= last; block++) {
      const packet = this.blocks!.packet(block);
      this.socket!.send(packet);
      this.context.metrics.bytesSent += packet.length - 4;
    }
    this.timer!.refresh();
  }

  /** Ends the transfer once; `tell` is the error packet the client gets (none when it is gone or done). */
  async finish(result: TransferResult, reason?: string, tell?: { code: number; message: string }): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.timer);
    const socket = this.socket;
    if (socket !== undefined) {
      const close = () => {
        try {
          socket.close();
        } catch {
          // Already closed by an error.
        }
      };
      if (tell !== undefined && this.connected) {
        this.context.metrics.errorSent(tell.code);
        // Closing before the datagram left would cancel it: close once it has gone.
        socket.send(serializeError(tell.code, tell.message), close);
      } else {
        close();
      }
    }
    await this.blocks?.close().catch(() => {});
    this.context.metrics.active -= 1;
    this.release();
    if (this.transfer === undefined) return;
    this.context.metrics.transferEnded(result);
    this.context.onTransferEnd({
      client: this.client,
      file: this.file,
      result,
      bytes: this.transfer.bytesAcked,
      size: this.transfer.shape.size,
      durationMs: Date.now() - this.started,
      blksize: this.transfer.shape.blksize,
      windowsize: this.transfer.shape.windowsize,
      retransmits: this.transfer.retransmits,
      ...(reason === undefined ? {} : { reason }),
    });
  }
}

function udpSocket(address: string): Socket {
  return isIPv6(address) ? createSocket({ type: "udp6", ipv6Only: true }) : createSocket({ type: "udp4" });
}

function isRequestOpcode(datagram: Buffer): boolean {
  return datagram.length >= 2 && datagram[0] === 0 && (datagram[1] === OPCODE.RRQ || datagram[1] === OPCODE.WRQ);
}
