import type { DnsEndpoint } from "../dns/config.js";

/** The TFTP server's configuration: where it listens, the folder it serves read-only, its limits. */

export type TftpEndpoint = DnsEndpoint;

export interface TftpConfig {
  /** Specific addresses to bind (port 69 needs root or CAP_NET_BIND_SERVICE). */
  listen: TftpEndpoint[];
  /** The folder served; nothing outside it is ever read, nothing is ever written. */
  root: string;
  /** Largest block size granted to a client asking for more (RFC 2348: 8..65464). */
  maxBlksize: number;
  /** Largest window granted (RFC 7440); 1 = lock-step only. */
  maxWindowsize: number;
  /** How long the server waits for an ACK before it sends the window again. */
  timeoutMs: number;
  /** Retransmissions of one window before the transfer is given up. */
  retries: number;
  /** Transfers running at once; a request beyond this gets an error packet. */
  maxTransfers: number;
}

export const TFTP_PORT = 69;

export const TFTP_DEFAULTS = {
  maxBlksize: 65464,
  maxWindowsize: 64,
  timeoutMs: 1000,
  retries: 5,
  maxTransfers: 256,
} as const;

export type TftpLimits = Omit<TftpConfig, "listen" | "root">;

export function tftpConfig(listen: TftpEndpoint[], root: string, limits: Partial<TftpLimits> = {}): TftpConfig {
  return { listen, root, ...TFTP_DEFAULTS, ...limits };
}
