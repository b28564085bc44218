import { type FileHandle, open, readdir, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { OperatorError } from "../../errors.js";
import { operatorFsError } from "../fs-errors.js";

export function partName(file: string, index: number): string {
  return `${file}.part${String(index).padStart(3, "0")}`;
}

const PART_SUFFIX = /^(.*)\.part(\d{3,})$/;

export interface BundleFiles {
  /** How the operator named the bundle (FILE, without .partNNN). */
  name: string;
  /** Paths in stream order; for a split bundle, part N is paths[N] (or undefined when missing). */
  paths: Array<string | undefined>;
  split: boolean;
}

/**
 * Turns command-line arguments into the ordered parts of one bundle: FILE, FILE.part000 (the
 * other parts are found beside it), or an explicit list of parts in any order.
 */
export async function resolveBundleFiles(args: readonly string[]): Promise<BundleFiles> {
  if (args.length === 0) throw new OperatorError("no bundle named", { hint: "pass the bundle file (or its parts)" });
  const parsed = args.map((arg) => ({ arg, match: PART_SUFFIX.exec(arg) }));
  if (parsed.every((p) => p.match === null)) {
    if (args.length > 1) {
      throw new OperatorError(`${args.length} files given, but they are not parts of one bundle`, {
        hint: "pass one bundle file, or its parts FILE.part000 FILE.part001 …",
      });
    }
    const file = args[0]!;
    if (await exists(file)) return { name: file, paths: [file], split: false };
    const found = await discoverParts(file);
    if (found.length === 0) {
      throw new OperatorError(`${file}: no such bundle (and no ${basename(partName(file, 0))} beside it)`, {
        hint: "check the path on the USB disk",
      });
    }
    return { name: file, paths: found, split: true };
  }
  const bases = new Set(parsed.map((p) => p.match?.[1]));
  if (bases.size !== 1 || parsed.some((p) => p.match === null)) {
    throw new OperatorError("the files given are not parts of one bundle", {
      hint: "pass FILE.part000 (the others are found beside it) or every FILE.partNNN of one bundle",
    });
  }
  const name = parsed[0]!.match![1]!;
  if (args.length === 1) return { name, paths: await discoverParts(name), split: true };
  const paths: Array<string | undefined> = [];
  for (const { arg, match } of parsed) paths[Number(match![2])] = arg;
  return { name, paths: Array.from({ length: paths.length }, (_, i) => paths[i]), split: true };
}

async function discoverParts(file: string): Promise<Array<string | undefined>> {
  const dir = dirname(file);
  const prefix = `${basename(file)}.part`;
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const paths: Array<string | undefined> = [];
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const number = name.slice(prefix.length);
    if (!/^\d{3,}$/.test(number)) continue;
    paths[Number(number)] = join(dir, name);
  }
  return Array.from({ length: paths.length }, (_, i) => paths[i]);
}

async function exists(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/**
 * Writes one byte stream into FILE or FILE.part000…, each part `partSize` bytes except the last.
 * Parts are written under a temporary name and renamed only by `commit`, so a failed create
 * leaves no bundle that looks complete.
 */
export class PartWriter {
  private handle: FileHandle | undefined;
  private written = 0;
  private readonly temps: string[] = [];
  private readonly finals: string[] = [];

  constructor(
    private readonly file: string,
    private readonly partSize: number | undefined,
  ) {}

  async write(data: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < data.length) {
      if (this.handle === undefined || (this.partSize !== undefined && this.written === this.partSize)) {
        await this.nextPart();
      }
      const room = this.partSize === undefined ? data.length - offset : this.partSize - this.written;
      const length = Math.min(room, data.length - offset);
      await this.handle!.write(data, offset, length);
      this.written += length;
      offset += length;
    }
  }

  private async nextPart(): Promise<void> {
    await this.closeCurrent();
    const final = this.partSize === undefined ? this.file : partName(this.file, this.finals.length);
    const temp = `${final}.creating`;
    this.handle = await open(temp, "w", 0o644);
    this.temps.push(temp);
    this.finals.push(final);
    this.written = 0;
  }

  private async closeCurrent(): Promise<void> {
    if (this.handle === undefined) return;
    await this.handle.sync();
    await this.handle.close();
    this.handle = undefined;
  }

  /**
   * Renames every part into place, then removes what an older bundle of the same name left that
   * would otherwise be taken for part of this one (FILE beside new parts, or surplus parts).
   */
  async commit(): Promise<string[]> {
    await this.closeCurrent();
    for (let i = 0; i < this.temps.length; i++) await rename(this.temps[i]!, this.finals[i]!);
    if (this.partSize !== undefined) await rm(this.file, { force: true });
    for (const stale of await discoverParts(this.file)) {
      if (stale !== undefined && !this.finals.includes(stale)) await rm(stale, { force: true });
    }
    return [...this.finals];
  }

  async abort(): Promise<void> {
    await this.handle?.close().catch(() => {});
    this.handle = undefined;
    for (const temp of this.temps) await rm(temp, { force: true });
  }
}

/**
 * Reads the parts of a bundle as one sequential stream, with one read ahead so disk reads
 * overlap hashing. Memory is one chunk in hand plus one in flight, whatever the bundle's size.
 */
export class ByteSource {
  private part = 0;
  private partOffset = 0;
  private handle: FileHandle | undefined;
  private pending: Promise<Buffer> | undefined;
  private leftover: Buffer | undefined;
  offset = 0;

  constructor(
    private readonly paths: readonly string[],
    private readonly chunkSize = 1 << 20,
  ) {}

  /** Up to `max` bytes; an empty buffer at the end of the last part. */
  async read(max: number): Promise<Buffer> {
    if (this.leftover === undefined || this.leftover.length === 0) this.leftover = await this.nextChunk();
    const chunk = this.leftover;
    if (chunk.length <= max) {
      this.leftover = undefined;
      this.offset += chunk.length;
      return chunk;
    }
    this.leftover = chunk.subarray(max);
    this.offset += max;
    return chunk.subarray(0, max);
  }

  /** Exactly `length` bytes, or fewer only if the stream ends first. */
  async readExact(length: number): Promise<Buffer> {
    const pieces: Buffer[] = [];
    let have = 0;
    while (have < length) {
      const piece = await this.read(length - have);
      if (piece.length === 0) break;
      pieces.push(piece);
      have += piece.length;
    }
    return pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces, have);
  }

  private async nextChunk(): Promise<Buffer> {
    const current = this.pending ?? this.readChunk();
    this.pending = undefined;
    const chunk = await current;
    if (chunk.length > 0) this.pending = this.readChunk();
    return chunk;
  }

  private async readChunk(): Promise<Buffer> {
    while (this.part < this.paths.length) {
      if (this.handle === undefined) {
        try {
          this.handle = await open(this.paths[this.part]!, "r");
        } catch (error) {
          throw operatorFsError(error, "read the bundle");
        }
        this.partOffset = 0;
      }
      const buffer = Buffer.allocUnsafe(this.chunkSize);
      const { bytesRead } = await this.handle.read(buffer, 0, this.chunkSize, this.partOffset);
      if (bytesRead > 0) {
        this.partOffset += bytesRead;
        return buffer.subarray(0, bytesRead);
      }
      await this.handle.close();
      this.handle = undefined;
      this.part++;
    }
    return Buffer.alloc(0);
  }

  async close(): Promise<void> {
    await this.pending?.catch(() => {});
    this.pending = undefined;
    await this.handle?.close();
    this.handle = undefined;
  }
}
