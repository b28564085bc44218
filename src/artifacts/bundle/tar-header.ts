/**
 * The one tar header airstrap writes: POSIX ustar, regular file, mode 0644, owner 0:0, mtime 0,
 * empty user/group names. Every field is a function of the entry's name and size only, so a
 * reader can rebuild the header it expects and compare all 512 bytes — a change to any byte of
 * a header, padding or the end-of-archive marker is then a mismatch at a known offset. A name
 * longer than ustar's 100 bytes (`blobs/sha512/<128 hex>`) travels in a POSIX pax extended header
 * (`path=`) just before, as GNU tar, bsdtar and Go's archive/tar write and read it. Pure.
 */
export const BLOCK = 512;
const MAX_OCTAL_SIZE = 0o77777777777;

const MAX_USTAR_NAME = 100;

/** The header blocks of an entry: one ustar block, or for a long name a pax header, its record and the ustar block. */
export function tarHeader(name: string, size: number): Buffer {
  const nameBytes = Buffer.from(name, "utf8");
  if (!Number.isSafeInteger(size) || size < 0) throw new Error(`tar entry size out of range: ${size}`);
  if (nameBytes.length <= MAX_USTAR_NAME) return ustarBlock(nameBytes, size, "0");
  const record = paxRecord("path", name);
  if (record.length > BLOCK) throw new Error(`tar entry name longer than ${BLOCK - 16} bytes: ${name}`);
  const data = Buffer.alloc(BLOCK, 0);
  record.copy(data);
  return Buffer.concat([
    ustarBlock(Buffer.from("PaxHeader", "utf8"), record.length, "x"),
    data,
    ustarBlock(nameBytes.subarray(0, MAX_USTAR_NAME), size, "0"),
  ]);
}

/** Bytes of the header blocks `tarHeader` writes for `name`. */
export function headerLength(name: string): number {
  return Buffer.byteLength(name, "utf8") <= MAX_USTAR_NAME ? BLOCK : 3 * BLOCK;
}

/** A pax record: "<length> <key>=<value>\n", where the length counts its own digits. */
function paxRecord(key: string, value: string): Buffer {
  const body = ` ${key}=${value}\n`;
  const bodyLength = Buffer.byteLength(body, "utf8");
  let length = bodyLength + 1;
  while (String(length).length + bodyLength !== length) length = String(length).length + bodyLength;
  return Buffer.from(`${length}${body}`, "utf8");
}

function ustarBlock(nameBytes: Buffer, size: number, type: "0" | "x"): Buffer {
  const header = Buffer.alloc(BLOCK, 0);
  nameBytes.copy(header, 0);
  header.write("0000644\0", 100, "latin1");
  header.write("0000000\0", 108, "latin1");
  header.write("0000000\0", 116, "latin1");
  writeSize(header, size);
  header.write("00000000000\0", 136, "latin1");
  header.write("        ", 148, "latin1");
  header.write(type, 156, "latin1");
  header.write("ustar\u000000", 257, "latin1");
  header.write("0000000\0", 329, "latin1");
  header.write("0000000\0", 337, "latin1");
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "latin1");
  return header;
}

/** Sizes beyond the 11 octal digits ustar allows (8 GiB) use GNU's base-256 form, which GNU tar reads. */
function writeSize(header: Buffer, size: number): void {
  if (size <= MAX_OCTAL_SIZE) {
    header.write(`${size.toString(8).padStart(11, "0")}\0`, 124, "latin1");
    return;
  }
  header[124] = 0x80;
  let rest = BigInt(size);
  for (let i = 135; i > 124; i--) {
    header[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
}

/** Reads name and size from a header, for the first entry, whose size is not known beforehand. */
export function parseTarHeader(header: Buffer): { name: string; size: number } | undefined {
  if (header.length !== BLOCK) return undefined;
  const nul = header.indexOf(0, 0);
  const name = header.subarray(0, nul < 0 || nul > 100 ? 100 : nul).toString("utf8");
  let size: number;
  if (header[124] === 0x80) {
    let value = 0n;
    for (let i = 125; i < 136; i++) value = (value << 8n) | BigInt(header[i]!);
    size = Number(value);
  } else {
    const text = header.subarray(124, 135).toString("latin1");
    if (!/^[0-7]{11}$/.test(text)) return undefined;
    size = Number.parseInt(text, 8);
  }
  return { name, size };
}

export function paddingFor(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

/** Bytes an entry occupies in the archive: header blocks, content, zero padding to a block. */
export function entrySpan(size: number, name = ""): number {
  return headerLength(name) + size + paddingFor(size);
}

/** Two zero blocks end a tar archive. */
export const END_OF_ARCHIVE = 2 * BLOCK;
