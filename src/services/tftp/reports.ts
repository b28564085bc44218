import type { TransferResult } from "./metrics.js";

/** What the server reports to the service: a transfer ended, a request was refused. */

export interface TransferReport {
  client: string;
  file: string;
  result: TransferResult;
  /** File bytes the client acknowledged. */
  bytes: number;
  size: number;
  durationMs: number;
  blksize: number;
  windowsize: number;
  retransmits: number;
  reason?: string;
}

export interface RequestRefusal {
  client: string;
  file: string;
  code: number;
  message: string;
}
