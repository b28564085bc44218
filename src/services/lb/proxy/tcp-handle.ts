/**
 * The proxy's data path talks to libuv TCP handles directly — Node's own `tcp_wrap` and
 * `stream_wrap` bindings, the layer under `net.Socket` — instead of through `net.Socket`.
 *
 * Why: per short connection, two `net.Socket` objects (each a Duplex with its read and write
 * state machines, listeners and ticks) cost about twice HAProxy's CPU, and per byte the stream
 * layer allocates a fresh 64 KiB buffer per read. On handles a connection is two objects and a
 * few closures, and a bulk transfer reads into one reusable buffer (measured: docs/load-balancer.md).
 * The bindings are internal to Node; airstrap ships as a single executable with its own Node, so
 * the version is the one tested (pinned in .node-version, checked by scripts/dist.sh).
 * `tcpBindings()` checks the surface once; a runtime that differs gets the net.Socket path
 * instead (socket-path.ts, chosen in data-path.ts), rather than misbehaving.
 */
import type net from "node:net";
import { getSystemErrorName } from "node:util";

/** Negative errno values as libuv reports them. */
export const UV_EOF = -4095;

export interface WriteRequest {
  oncomplete: (status: number) => void;
  /** Ours: the data of a write still in flight. */
  chunk?: Uint8Array | undefined;
}

export interface ShutdownRequest {
  oncomplete: (status: number) => void;
}

interface ConnectRequest {
  oncomplete: (status: number) => void;
}

/** The part of a libuv TCP handle (Node's TCPWrap) the proxy uses. */
export interface TcpHandle {
  /** Called per read; the byte count or a negative errno is in `readResult()`. */
  onread: (arrayBuffer: ArrayBuffer | undefined) => Uint8Array | undefined;
  readStart(): number;
  readStop(): number;
  /** From now on reads land in this buffer instead of a fresh allocation per read. */
  useUserBuffer(buffer: Uint8Array): void;
  writeBuffer(request: WriteRequest, data: Uint8Array): number;
  shutdown(request: ShutdownRequest): number;
  setNoDelay(enable: boolean): number;
  close(callback?: () => void): void;
  readonly bytesRead: number;
  readonly bytesWritten: number;
}

interface ServerHandle {
  onconnection: (status: number, client: TcpHandle | undefined) => void;
  setNoDelay(enable: boolean): number;
}

interface SocketHandle extends TcpHandle {
  connect(request: ConnectRequest, address: string, port: number): number;
  connect6(request: ConnectRequest, address: string, port: number): number;
}

interface Bindings {
  newSocket(): SocketHandle;
  newConnectRequest(): ConnectRequest;
  newWriteRequest(): WriteRequest;
  newShutdownRequest(): ShutdownRequest;
  /** Bytes of the last read (> 0), 0, or a negative errno (UV_EOF at end of stream). */
  readResult(): number;
  /** Offset of the last read's data in the ArrayBuffer passed to onread (when no user buffer). */
  readOffset(): number;
  /** Whether the last writeBuffer() is still in flight (its request completes later). */
  lastWriteWasAsync(): boolean;
}

let bindings: Bindings | Error | undefined;

/** The bindings, or the reason this runtime lacks them (thrown on every call; checked once). */
export function tcpBindings(): Bindings {
  if (bindings === undefined) {
    try {
      bindings = loadBindings();
    } catch (error) {
      bindings = new Error(
        `Node ${process.version} does not offer the tcp_wrap/stream_wrap bindings the fast path was built on (${(error as Error).message})`,
      );
    }
  }
  if (bindings instanceof Error) throw bindings;
  return bindings;
}

type Constructor<T> = new (...args: unknown[]) => T;

function loadBindings(): Bindings {
  // process.binding is the supported door to these two modules (it lists them explicitly).
  const binding = (process as unknown as { binding(name: string): Record<string, unknown> }).binding;
  const tcp = binding("tcp_wrap");
  const stream = binding("stream_wrap");
  const TCP = tcp.TCP as Constructor<SocketHandle>;
  const constants = tcp.constants as { SOCKET: number };
  const TCPConnectWrap = tcp.TCPConnectWrap as Constructor<ConnectRequest>;
  const WriteWrap = stream.WriteWrap as Constructor<WriteRequest>;
  const ShutdownWrap = stream.ShutdownWrap as Constructor<ShutdownRequest>;
  const state = stream.streamBaseState as Int32Array;
  const readBytes = stream.kReadBytesOrError as number;
  const bufferOffset = stream.kArrayBufferOffset as number;
  const writeAsync = stream.kLastWriteWasAsync as number;
  const complete =
    typeof TCP === "function" &&
    typeof constants?.SOCKET === "number" &&
    typeof TCPConnectWrap === "function" &&
    typeof WriteWrap === "function" &&
    typeof ShutdownWrap === "function" &&
    state instanceof Int32Array &&
    [readBytes, bufferOffset, writeAsync].every((index) => Number.isInteger(index)) &&
    ["readStart", "readStop", "useUserBuffer", "writeBuffer", "shutdown", "connect", "connect6", "setNoDelay"].every(
      (method) => typeof (TCP.prototype as unknown as Record<string, unknown>)[method] === "function",
    );
  if (!complete) throw new Error("a method or constant is missing");
  return {
    newSocket: () => new TCP(constants.SOCKET),
    newConnectRequest: () => new TCPConnectWrap(),
    newWriteRequest: () => new WriteWrap(),
    newShutdownRequest: () => new ShutdownWrap(),
    readResult: () => state[readBytes]!,
    readOffset: () => state[bufferOffset]!,
    lastWriteWasAsync: () => state[writeAsync] !== 0,
  };
}

/**
 * Takes over accepting on a listening `net.Server`: accepted connections arrive as bare handles
 * (`status` < 0 is an accept error such as EMFILE) and no `net.Socket` is built for them. The
 * server keeps owning the listening socket (address, close, errors).
 *
 * TCP_NODELAY is set once on the listening socket: Linux copies it to every accepted socket,
 * which saves a setsockopt() per connection.
 */
export function acceptHandles(
  server: net.Server,
  onConnection: (status: number, client: TcpHandle | undefined) => void,
) {
  tcpBindings();
  const handle = (server as unknown as { _handle?: ServerHandle })._handle;
  if (!server.listening || typeof handle?.onconnection !== "function") {
    throw new Error("acceptHandles: the server is not listening on a TCP handle");
  }
  handle.setNoDelay(true);
  handle.onconnection = onConnection;
}

/**
 * Starts a TCP connect; `done(status)` is called once (0 = connected, else a negative errno)
 * unless the handle is closed first. Returns the handle, already connecting.
 */
export function connectHandle(address: string, port: number, done: (status: number) => void): TcpHandle {
  const { newSocket, newConnectRequest } = tcpBindings();
  const handle = newSocket();
  const request = newConnectRequest();
  request.oncomplete = done;
  const error = address.includes(":")
    ? handle.connect6(request, address, port)
    : handle.connect(request, address, port);
  if (error !== 0) queueMicrotask(() => done(error));
  return handle;
}

/** "ECONNREFUSED" for -111, and so on. */
export function errorName(status: number): string {
  try {
    return getSystemErrorName(status);
  } catch {
    return `error ${status}`;
  }
}
