import type { Readable } from "node:stream";
import { TransientError } from "../concurrency/retry.js";

/**
 * "A machine we act on": the one interface install phases use, whatever the transport (SSH via
 * ssh2, or the local machine). Implementations: ssh-host.ts, local-host.ts.
 */
export interface Host {
  /** The manifest's host name (every event and log line starts with it). */
  readonly name: string;
  /** Where it is reached (address, or "local"). */
  readonly address: string;

  /** Runs a shell command line. Never throws for a non-zero exit: the caller decides. */
  exec(command: string, options?: ExecOptions): Promise<ExecResult>;

  /**
   * Streams a file to `path` with `mode`, verified by SHA-256 on arrival; written to a temporary
   * name and renamed, so `path` is never half-written. Skipped (no bytes sent) when `path`
   * already has that content and mode. An interrupted transfer resumes from what arrived.
   */
  upload(source: UploadSource, path: string, options: UploadOptions): Promise<UploadResult>;

  /**
   * For each file, true when its path already holds exactly this content (SHA-256, hex) with this
   * mode: what upload would skip. One round trip for all of them.
   */
  hasFiles(files: readonly WantedFile[], options?: ReadOptions): Promise<boolean[]>;

  /** The content of a remote file, or undefined when it does not exist. */
  readFile(path: string, options?: ReadOptions): Promise<Buffer | undefined>;

  /**
   * Streams a remote file to `localPath` (written 0600 to a temporary name, then renamed).
   * Throws OperatorError when the remote file does not exist or cannot be read.
   */
  download(path: string, localPath: string, options?: ReadOptions): Promise<DownloadResult>;

  /** Closes connections; the host may be used again afterwards (it reconnects). */
  close(): Promise<void>;
}

export interface ExecOptions {
  /** Run as root through sudo (when the host's user is not root and the manifest says sudo). */
  sudo?: boolean;
  /** Bytes for the command's standard input. */
  stdin?: string | Buffer;
  /** Kill the command after this long (ms). */
  timeoutMs?: number;
}

export interface ReadOptions {
  /** Read as root (through sudo when the user is not root). */
  sudo?: boolean;
}

export interface DownloadResult {
  bytes: number;
  /** Lower-case hex SHA-256 of what arrived. */
  sha256: string;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A file as it should be on a host. */
export interface WantedFile {
  path: string;
  /** Lower-case hex SHA-256 of the content. */
  sha256: string;
  mode: number;
}

export interface UploadSource {
  /** A fresh stream of the whole content starting at `offset` bytes (for resume). */
  open(offset: number): Readable;
  size: number;
  /** Lower-case hex SHA-256 of the whole content. */
  sha256: string;
}

export interface UploadOptions {
  mode: number;
  /** Write as root (through sudo when the user is not root). */
  sudo?: boolean;
  /** Called as bytes go out: (sent so far, total). */
  onProgress?: (sent: number, total: number) => void;
}

export interface UploadResult {
  /** True when the file was already there with the same content and mode: nothing was sent. */
  skipped: boolean;
  bytesSent: number;
}

/** A fault that may go away on retry (connection reset, timeout) — never a wrong key or a failed command. */
export class TransientHostError extends TransientError {
  constructor(
    message: string,
    readonly host: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "TransientHostError";
  }
}
