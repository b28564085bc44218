import { firstLabel, parentName } from "./names.js";
import type { Rdata } from "./rdata.js";
import { CLASS_IN, EDNS_DO, FLAG, HEADER_SIZE, MAX_UDP_PAYLOAD, TYPE } from "./wire.js";

/** Writing DNS messages: names with compression, records, OPT. Pure; one reusable buffer. */

export interface ResourceRecord {
  owner: string;
  type: number;
  ttl: number;
  rdata: Rdata;
}

export class MessageWriter {
  private readonly buffer = Buffer.alloc(65535);
  private readonly names = new Map<string, number>();
  position = 0;

  reset(): void {
    this.position = 0;
    this.names.clear();
  }

  u8(value: number): void {
    this.position = this.buffer.writeUInt8(value, this.position);
  }

  u16(value: number): void {
    this.position = this.buffer.writeUInt16BE(value, this.position);
  }

  u32(value: number): void {
    this.position = this.buffer.writeUInt32BE(value >>> 0, this.position);
  }

  bytes(bytes: Uint8Array): void {
    if (this.position + bytes.length > this.buffer.length) throw new RangeError("DNS message over 65535 octets");
    this.buffer.set(bytes, this.position);
    this.position += bytes.length;
  }

  setU16(offset: number, value: number): void {
    this.buffer.writeUInt16BE(value, offset);
  }

  /** Writes a name, pointing at an earlier copy of any suffix (RFC 1035 4.1.4) when `compress`. */
  name(name: string, compress = true): void {
    let rest = name;
    while (rest !== "") {
      const earlier = compress ? this.names.get(rest) : undefined;
      if (earlier !== undefined) {
        this.u16(0xc000 | earlier);
        return;
      }
      if (this.position < 0x3fff && !this.names.has(rest)) this.names.set(rest, this.position);
      const [label, after] = firstLabel(rest);
      this.u8(label.length);
      for (let i = 0; i < label.length; i++) this.u8(label.charCodeAt(i) & 0xff);
      rest = after;
    }
    this.u8(0);
  }

  /** Copies the question verbatim (its case echoed, RFC 4343) and remembers its suffixes for compression. */
  question(message: Uint8Array, start: number, end: number, name: string): void {
    this.bytes(message.subarray(start, end));
    let offset = start;
    let rest: string | undefined = name;
    while (rest !== undefined && rest !== "" && offset < 0x3fff) {
      if (!this.names.has(rest)) this.names.set(rest, offset);
      offset += message[offset]! + 1;
      rest = parentName(rest);
    }
  }

  record(record: ResourceRecord): void {
    this.name(record.owner);
    this.u16(record.type);
    this.u16(CLASS_IN);
    this.u32(record.ttl);
    const lengthAt = this.position;
    this.u16(0);
    this.rdata(record.rdata);
    this.setU16(lengthAt, this.position - lengthAt - 2);
  }

  private rdata(rdata: Rdata): void {
    switch (rdata.kind) {
      case "bytes":
        this.bytes(rdata.bytes);
        return;
      case "name":
        this.name(rdata.name);
        return;
      case "srv":
        this.u16(rdata.priority);
        this.u16(rdata.weight);
        this.u16(rdata.port);
        // RFC 2782: the SRV target is never compressed.
        this.name(rdata.target, false);
        return;
      case "soa":
        this.name(rdata.mname);
        this.name(rdata.rname);
        this.u32(rdata.serial);
        this.u32(rdata.refresh);
        this.u32(rdata.retry);
        this.u32(rdata.expire);
        this.u32(rdata.minimum);
        return;
    }
  }

  /** Our OPT RR: advertised payload, extended rcode bits, DO echoed (RFC 3225). */
  opt(extendedRcode: number, dnssecOk: boolean): void {
    this.u8(0);
    this.u16(TYPE.OPT);
    this.u16(MAX_UDP_PAYLOAD);
    this.u8(extendedRcode >> 4);
    this.u8(0);
    this.u16(dnssecOk ? EDNS_DO : 0);
    this.u16(0);
  }

  header(id: number, flags: number, counts: [number, number, number, number]): void {
    this.setU16(0, id);
    this.setU16(2, flags);
    for (let i = 0; i < 4; i++) this.setU16(4 + i * 2, counts[i]!);
  }

  /** A fresh Buffer holding what was written. */
  finish(): Buffer {
    const out = Buffer.allocUnsafe(this.position);
    this.buffer.copy(out, 0, 0, this.position);
    return out;
  }

  skipHeader(): void {
    this.position = HEADER_SIZE;
  }
}

/** Header flags of a response to a query with `queryFlags`: opcode, RD and CD copied. */
export function responseFlags(queryFlags: number, rcode: number, extra: number): number {
  return FLAG.QR | (queryFlags & (0x7800 | FLAG.RD | FLAG.CD)) | extra | (rcode & 0xf);
}
