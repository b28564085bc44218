import { createHash, randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { Writable } from "node:stream";
import { OperatorError } from "../errors.js";
import type { Events } from "../events.js";
import type {
  DownloadResult,
  ExecOptions,
  ExecResult,
  Host,
  ReadOptions,
  UploadOptions,
  UploadResult,
  UploadSource,
  WantedFile,
} from "./host.js";
import { cappedOutput, DEFAULT_MAX_OUTPUT_BYTES, mebibytes } from "./output-cap.js";
import { shellQuote } from "./shell.js";
import { type CapturedRun, Sudo, type SudoPasswordSource } from "./sudo.js";
import type { Transport } from "./transport.js";
import { oneLine, remoteFileStates, uploadThrough } from "./upload.js";
import { SMALL_UPLOAD_MAX_BYTES, uploadSmall } from "./upload-small.js";

export interface TransportHostOptions {
  /** Whether sudo may be used for `sudo: true` operations when the login user is not root. */
  sudo: boolean;
  sudoPassword: SudoPasswordSource;
  events: Events;
  /** Bytes of a command's stdout, and of its stderr, kept in memory (default DEFAULT_MAX_OUTPUT_BYTES); see output-cap.ts. */
  maxOutputBytes?: number;
}

/** A Host over any Transport: sudo, uploads, reads and downloads work the same over SSH and locally. */
export class TransportHost implements Host {
  readonly name: string;
  readonly address: string;
  #sudo: Promise<Sudo | undefined> | undefined;
  #home: Promise<string> | undefined;

  constructor(
    private readonly transport: Transport,
    private readonly options: TransportHostOptions,
  ) {
    this.name = transport.name;
    this.address = transport.address;
  }

  async exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    const stdin = options.stdin === undefined ? undefined : Buffer.from(options.stdin);
    const limited =
      options.timeoutMs === undefined
        ? command
        : // timeout(1) signals the command's whole process group (TERM, then KILL 2 s later) and exits 124.
          `timeout -k 2 ${Math.max(options.timeoutMs, 1) / 1000} sh -c ${shellQuote(command)}`;
    const result = await this.#capture(limited, {
      asRoot: options.sudo === true,
      ...(stdin === undefined ? {} : { stdin }),
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    });
    for (const [stream, dropped] of [
      ["stdout", result.droppedStdout],
      ["stderr", result.droppedStderr],
    ] as const) {
      if (dropped === 0) continue;
      this.options.events.emit({
        level: "warn",
        kind: "host.output.truncated",
        host: this.name,
        message: `${this.name}: a command printed more than ${mebibytes(this.#maxOutput())} on ${stream}; ${dropped} bytes in the middle were left out (the text marks where)`,
        detail: { stream, dropped },
      });
    }
    return { code: result.code, stdout: result.stdout.toString("utf8"), stderr: result.stderr.toString("utf8") };
  }

  async upload(source: UploadSource, path: string, options: UploadOptions): Promise<UploadResult> {
    const asRoot = options.sudo === true && (await this.#sudoer()) !== undefined;
    const result =
      source.size <= SMALL_UPLOAD_MAX_BYTES
        ? await uploadSmall(
            { label: this.#label(), capture: (command, options) => this.#capture(command, options) },
            source,
            path,
            { ...options, asRoot },
          )
        : await uploadThrough(
            {
              label: this.#label(),
              capture: (command, { asRoot }) => this.#capture(command, { asRoot }),
              writeAt: (path, offset, stream, onBytes) => this.transport.writeAt(path, offset, stream, onBytes),
              home: () => this.#homeDir(),
            },
            source,
            path,
            { ...options, asRoot },
          );
    this.options.events.emit({
      level: "debug",
      kind: result.skipped ? "host.upload.skipped" : "host.upload.done",
      host: this.name,
      message: result.skipped
        ? `${this.name}: ${path} already has that content`
        : `${this.name}: uploaded ${path} (${result.bytesSent} bytes sent)`,
      detail: { path, size: source.size, sha256: source.sha256, bytesSent: result.bytesSent },
    });
    return result;
  }

  async hasFiles(files: readonly WantedFile[], options: ReadOptions = {}): Promise<boolean[]> {
    const asRoot = options.sudo === true && (await this.#sudoer()) !== undefined;
    const states = await remoteFileStates(
      { capture: (command, { asRoot }) => this.#capture(command, { asRoot }) },
      files.map((f) => f.path),
      asRoot,
    );
    return files.map((f, i) => states[i]?.sha256 === f.sha256 && Number.parseInt(states[i].mode, 8) === f.mode);
  }

  async readFile(path: string, options: ReadOptions = {}): Promise<Buffer | undefined> {
    const result = await this.#capture(readCommand(path), { asRoot: options.sudo === true });
    if (result.code === 0 && result.droppedStdout > 0)
      throw new OperatorError(
        `host ${this.#label()}: ${path} is larger than the ${mebibytes(this.#maxOutput())} airstrap reads into memory`,
        { hint: "this file is not one airstrap expected to be large; look at it on the host" },
      );
    if (result.code === 0) return result.stdout;
    if (isAbsent(result.stderr)) return undefined;
    throw this.#readFailed(path, result);
  }

  async download(path: string, localPath: string, options: ReadOptions = {}): Promise<DownloadResult> {
    const temp = `${localPath}.${randomBytes(6).toString("hex")}.airstrap-part`;
    const file = createWriteStream(temp, { mode: 0o600 });
    const hash = createHash("sha256");
    let bytes = 0;
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        bytes += chunk.length;
        if (file.write(chunk)) done();
        else file.once("drain", () => done());
      },
      final(done) {
        file.end(done);
      },
    });
    const stderr = cappedOutput(this.#maxOutput());
    try {
      const code = await this.#runAs(readCommand(path), {
        asRoot: options.sudo === true,
        stdout: sink,
        stderr: stderr.sink,
      });
      // Everything the command wrote is in the file once the sink has finished (and closed it).
      await new Promise<void>((resolve, reject) => {
        sink.once("error", reject);
        sink.end(() => resolve());
      });
      if (code !== 0) {
        if (isAbsent(stderr.text()))
          throw new OperatorError(`host ${this.#label()}: ${path} does not exist`, { hint: "check the path" });
        throw this.#readFailed(path, { code, stdout: Buffer.alloc(0), stderr: Buffer.from(stderr.text()) });
      }
      await rename(temp, localPath);
      return { bytes, sha256: hash.digest("hex") };
    } finally {
      file.destroy();
      await rm(temp, { force: true });
    }
  }

  close(): Promise<void> {
    return this.transport.close();
  }

  #maxOutput(): number {
    return this.options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  }

  #label(): string {
    return `${this.name} (${this.address})`;
  }

  #readFailed(path: string, result: CapturedRun): OperatorError {
    return new OperatorError(
      `host ${this.#label()}: cannot read ${path} (exit ${result.code}): ${oneLine(result.stderr)}`,
      {
        hint: "check the path and its permissions (files only root can read need sudo)",
      },
    );
  }

  /** The Sudo helper when root-only work must go through sudo; undefined when the user is root or sudo is off. */
  #sudoer(): Promise<Sudo | undefined> {
    this.#sudo ??= (async () => {
      const user = await this.transport.user();
      if (user === "root" || !this.options.sudo) return undefined;
      return new Sudo(
        this.#label(),
        user,
        (command, stdin) => this.#capture(command, { asRoot: false, ...(stdin === undefined ? {} : { stdin }) }),
        this.options.sudoPassword,
      );
    })();
    return this.#sudo;
  }

  #homeDir(): Promise<string> {
    this.#home ??= this.#capture(`printf %s "$HOME"`, { asRoot: false }).then((result) => {
      const home = result.stdout.toString("utf8");
      if (result.code !== 0 || !home.startsWith("/"))
        throw new OperatorError(`host ${this.#label()}: the login user has no home directory`, {
          hint: "uploads as root are staged in the user's home; give the user one",
        });
      return home;
    });
    return this.#home;
  }

  async #capture(
    command: string,
    options: { asRoot: boolean; stdin?: Buffer; timeoutMs?: number },
  ): Promise<CapturedRun & { droppedStdout: number; droppedStderr: number }> {
    const stdout = cappedOutput(this.#maxOutput());
    const stderr = cappedOutput(this.#maxOutput());
    const code = await this.#runAs(command, { ...options, stdout: stdout.sink, stderr: stderr.sink });
    return {
      code,
      stdout: stdout.buffer(),
      stderr: stderr.buffer(),
      droppedStdout: stdout.dropped(),
      droppedStderr: stderr.dropped(),
    };
  }

  async #runAs(
    command: string,
    options: { asRoot: boolean; stdin?: Buffer; timeoutMs?: number; stdout: Writable; stderr: Writable },
  ): Promise<number> {
    const sudo = options.asRoot ? await this.#sudoer() : undefined;
    const wrapped = sudo === undefined ? { command } : await sudo.wrap(command);
    const stdin =
      wrapped.stdinPrefix === undefined
        ? options.stdin
        : Buffer.concat([wrapped.stdinPrefix, options.stdin ?? Buffer.alloc(0)]);
    return this.transport.run(wrapped.command, {
      ...(stdin === undefined ? {} : { stdin }),
      stdout: options.stdout,
      stderr: options.stderr,
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    });
  }
}

/** cat in the C locale, so "does not exist" is told apart from "may not be read" by its message. */
function readCommand(path: string): string {
  return `LC_ALL=C exec cat -- ${shellQuote(path)}`;
}

function isAbsent(stderr: Buffer | string): boolean {
  return /No such file or directory\s*$/.test(stderr.toString().trim());
}
