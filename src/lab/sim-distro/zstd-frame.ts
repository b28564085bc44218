/**
 * A valid Zstandard frame (RFC 8878) holding the data in raw (stored) blocks: enough for release
 * files that must be `.tar.zst` without a compressor dependency. Every zstd decoder reads it.
 */
const MAGIC = 0xfd2fb528;
const MAX_BLOCK = 128 * 1024;

export function zstdStoredFrame(data: Uint8Array): Buffer {
  // Single segment (no window descriptor) with an 8-byte content size.
  const header = Buffer.alloc(4 + 1 + 8);
  header.writeUInt32LE(MAGIC, 0);
  header.writeUInt8(0b1110_0000, 4);
  header.writeBigUInt64LE(BigInt(data.length), 5);
  const parts: Buffer[] = [header];
  let offset = 0;
  do {
    const size = Math.min(MAX_BLOCK, data.length - offset);
    const last = offset + size >= data.length ? 1 : 0;
    const blockHeader = Buffer.alloc(3);
    // bit 0: last block; bits 1-2: block type 0 (raw); bits 3-23: size.
    blockHeader.writeUIntLE((size << 3) | last, 0, 3);
    parts.push(blockHeader, Buffer.from(data.subarray(offset, offset + size)));
    offset += size;
  } while (offset < data.length);
  return Buffer.concat(parts);
}
