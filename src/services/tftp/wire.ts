/**
 * TFTP packets (RFC 1350, options RFC 2347): parse and serialize, pure. Parsing never throws: a
 * datagram that is not a well-formed packet comes back as `{ malformed: reason }`.
 */

export const OPCODE = { RRQ: 1, WRQ: 2, DATA: 3, ACK: 4, ERROR: 5, OACK: 6 } as const;

/** RFC 1350 error codes (8 is RFC 2347's "option negotiation refused"). */
export const ERROR_CODE = {
  notDefined: 0,
  fileNotFound: 1,
  accessViolation: 2,
  diskFull: 3,
  illegalOperation: 4,
  unknownTransferId: 5,
  fileExists: 6,
  noSuchUser: 7,
  optionsRefused: 8,
} as const;

/** A request names a path and a mode; longer strings or more options than this are refused. */
export const MAX_STRING_BYTES = 255;
export const MAX_OPTIONS = 16;
/** Largest data a DATA packet can carry (RFC 2348: blksize up to 65464). */
export const MAX_BLOCK_BYTES = 65464;

export interface RequestPacket {
  opcode: typeof OPCODE.RRQ | typeof OPCODE.WRQ;
  filename: string;
  /** Lower-cased: "octet" or "netascii" ("mail" is obsolete and refused by the server). */
  mode: string;
  /** Option names lower-cased; values as sent. */
  options: Map<string, string>;
}

export interface DataPacket {
  opcode: typeof OPCODE.DATA;
  block: number;
  data: Buffer;
}

export interface AckPacket {
  opcode: typeof OPCODE.ACK;
  block: number;
}

export interface ErrorPacket {
  opcode: typeof OPCODE.ERROR;
  code: number;
  message: string;
}

export interface OackPacket {
  opcode: typeof OPCODE.OACK;
  options: Map<string, string>;
}

export type Packet = RequestPacket | DataPacket | AckPacket | ErrorPacket | OackPacket;
export type ParseResult = Packet | { malformed: string };

export function isMalformed(result: ParseResult): result is { malformed: string } {
  return "malformed" in result;
}

export function parsePacket(datagram: Buffer): ParseResult {
  if (datagram.length < 2) return { malformed: "shorter than an opcode" };
  const opcode = datagram.readUInt16BE(0);
  switch (opcode) {
    case OPCODE.RRQ:
    case OPCODE.WRQ:
      return parseRequest(opcode, datagram);
    case OPCODE.DATA:
      if (datagram.length < 4) return { malformed: "DATA without a block number" };
      if (datagram.length > 4 + MAX_BLOCK_BYTES) return { malformed: "DATA larger than any block size" };
      return { opcode, block: datagram.readUInt16BE(2), data: datagram.subarray(4) };
    case OPCODE.ACK:
      if (datagram.length !== 4) return { malformed: `ACK of ${datagram.length} bytes (4 expected)` };
      return { opcode, block: datagram.readUInt16BE(2) };
    case OPCODE.ERROR: {
      if (datagram.length < 5) return { malformed: "ERROR without a message" };
      const message = readStrings(datagram, 4);
      if (message === undefined || message.length !== 1)
        return { malformed: "ERROR message not one NUL-terminated string" };
      return { opcode, code: datagram.readUInt16BE(2), message: message[0]! };
    }
    case OPCODE.OACK: {
      const strings = readStrings(datagram, 2);
      if (strings === undefined) return { malformed: "OACK options not NUL-terminated" };
      const options = optionsFrom(strings);
      if (typeof options === "string") return { malformed: options };
      return { opcode, options };
    }
    default:
      return { malformed: `unknown opcode ${opcode}` };
  }
}

function parseRequest(opcode: typeof OPCODE.RRQ | typeof OPCODE.WRQ, datagram: Buffer): ParseResult {
  const strings = readStrings(datagram, 2);
  if (strings === undefined) return { malformed: "request strings not NUL-terminated" };
  const [filename, mode, ...rest] = strings;
  if (filename === undefined || mode === undefined) return { malformed: "request without filename and mode" };
  if (filename === "") return { malformed: "empty filename" };
  const options = optionsFrom(rest);
  if (typeof options === "string") return { malformed: options };
  return { opcode, filename, mode: mode.toLowerCase(), options };
}

/** Option name/value pairs; a repeated option is refused rather than guessed at. */
function optionsFrom(strings: string[]): Map<string, string> | string {
  if (strings.length % 2 !== 0) return "an option without a value";
  if (strings.length / 2 > MAX_OPTIONS) return `more than ${MAX_OPTIONS} options`;
  const options = new Map<string, string>();
  for (let i = 0; i < strings.length; i += 2) {
    const name = strings[i]!.toLowerCase();
    if (name === "") return "an option without a name";
    if (options.has(name)) return `option ${name} given twice`;
    options.set(name, strings[i + 1]!);
  }
  return options;
}

/**
 * The NUL-terminated strings from `offset` to the end; undefined when the last one lacks its NUL,
 * one is longer than MAX_STRING_BYTES, or one holds a byte outside printable ASCII (RFC 1350:
 * netascii strings; this also keeps control characters out of file names and logs).
 */
function readStrings(datagram: Buffer, offset: number): string[] | undefined {
  const strings: string[] = [];
  let start = offset;
  for (let i = offset; i < datagram.length; i++) {
    const byte = datagram[i]!;
    if (byte === 0) {
      strings.push(datagram.toString("latin1", start, i));
      start = i + 1;
    } else if (byte < 0x20 || byte > 0x7e || i - start >= MAX_STRING_BYTES) {
      return undefined;
    }
  }
  return start === datagram.length ? strings : undefined;
}

/** DATA and ACK begin alike: an opcode, then a block number (its low 16 bits). */
function opcodeAndBlock(opcode: number, block: number): Buffer {
  const packet = Buffer.allocUnsafe(4);
  packet.writeUInt16BE(opcode, 0);
  packet.writeUInt16BE(block & 0xffff, 2);
  return packet;
}

export function serializeData(block: number, data: Buffer): Buffer {
  return Buffer.concat([opcodeAndBlock(OPCODE.DATA, block), data]);
}

export function serializeAck(block: number): Buffer {
  return opcodeAndBlock(OPCODE.ACK, block);
}

export function serializeError(code: number, message: string): Buffer {
  const text = Buffer.from(message.replace(/[^\x20-\x7e]/g, "?").slice(0, MAX_STRING_BYTES), "latin1");
  const packet = Buffer.alloc(5 + text.length);
  packet.writeUInt16BE(OPCODE.ERROR, 0);
  packet.writeUInt16BE(code & 0xffff, 2);
  text.copy(packet, 4);
  return packet;
}

export function serializeOack(options: Map<string, string>): Buffer {
  return Buffer.concat([Buffer.from([0, OPCODE.OACK]), stringsBytes([...options].flat())]);
}

export function serializeRequest(request: Omit<RequestPacket, "options"> & { options?: Map<string, string> }): Buffer {
  const strings = [request.filename, request.mode, ...[...(request.options ?? new Map())].flat()];
  return Buffer.concat([Buffer.from([0, request.opcode]), stringsBytes(strings)]);
}

function stringsBytes(strings: string[]): Buffer {
  return Buffer.concat(strings.map((text) => Buffer.from(`${text}\0`, "latin1")));
}
