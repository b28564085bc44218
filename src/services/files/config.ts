/** One file offered to the hosts, named by its SHA-256 so a host can verify what it got. */
export interface ServedFile {
  sha256: string;
  path: string;
  /**
   * Set when the file may still be arriving here (a relay on a host passing on its own download):
   * its final size, and the part file it grows in. Served as it lands, following follow-file.ts.
   */
  arriving?: { size: number; partPath: string };
}

export interface FileServerConfig {
  address: string;
  port: number;
  files: ServedFile[];
  /** Networks (CIDR) whose clients may fetch; everyone else gets 403. */
  allowedNetworks: string[];
  /** How long a relayed file may stop growing before its reader gives up (default 15 s). */
  stallMs?: number;
  /** Told as a transfer advances, in steps of about 2% (the install's progress view). */
  onProgress?: (progress: TransferProgress) => void;
}

export interface TransferProgress {
  client: string;
  sha256: string;
  /** Bytes of the file the client holds now, counting a resumed transfer's head. */
  sent: number;
  total: number;
}
