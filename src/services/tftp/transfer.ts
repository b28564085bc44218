/**
 * The sending side of one read transfer, pure: which blocks to send after an ACK or a timeout.
 * Blocks are numbered from 1 without bound here; on the wire they are the low 16 bits, so block
 * 65536 goes out as 0 (the rollover tftp-hpa, dnsmasq and curl expect).
 *
 * A duplicate ACK never triggers a send (that is Sorcerer's Apprentice syndrome: every delayed ACK
 * would double the traffic); only the timer sends a window again.
 */

export interface TransferShape {
  size: number;
  blksize: number;
  windowsize: number;
  /** Whether the transfer starts with an OACK that the client acknowledges with ACK 0. */
  oack: boolean;
  /** Retransmissions allowed in a row before giving up. */
  retries: number;
}

export type Step =
  | { kind: "send-oack" }
  /** Send blocks first..last (inclusive, unbounded numbering). */
  | { kind: "send"; first: number; last: number }
  | { kind: "done" }
  | { kind: "give-up" }
  | { kind: "ignore" };

export class ReadTransfer {
  /** The block a last block shorter than blksize (possibly empty) ends the file with. */
  readonly lastBlock: number;
  private acked = 0;
  private sentUpTo = 0;
  private oackPending: boolean;
  private retriesInARow = 0;
  retransmits = 0;
  finished = false;

  constructor(readonly shape: TransferShape) {
    this.lastBlock = Math.floor(shape.size / shape.blksize) + 1;
    this.oackPending = shape.oack;
  }

  start(): Step {
    return this.oackPending ? { kind: "send-oack" } : this.windowAfterAck();
  }

  /** An ACK from the client (its 16-bit block number). */
  ack(wireBlock: number): Step {
    if (this.finished) return { kind: "ignore" };
    if (this.oackPending) {
      if (wireBlock !== 0) return { kind: "ignore" };
      this.oackPending = false;
      this.retriesInARow = 0;
      return this.windowAfterAck();
    }
    const ahead = (wireBlock - this.acked) & 0xffff;
    const block = this.acked + ahead;
    // Zero ahead is a duplicate; beyond what was sent is stale or invented.
    if (ahead === 0 || block > this.sentUpTo) return { kind: "ignore" };
    this.acked = block;
    this.retriesInARow = 0;
    if (block === this.lastBlock) {
      this.finished = true;
      return { kind: "done" };
    }
    return this.windowAfterAck();
  }

  timeout(): Step {
    if (this.finished) return { kind: "ignore" };
    this.retriesInARow += 1;
    if (this.retriesInARow > this.shape.retries) {
      this.finished = true;
      return { kind: "give-up" };
    }
    this.retransmits += 1;
    return this.oackPending ? { kind: "send-oack" } : this.windowAfterAck();
  }

  /** Bytes of the file a block carries. */
  blockRange(block: number): { offset: number; length: number } {
    const offset = (block - 1) * this.shape.blksize;
    return { offset, length: Math.max(0, Math.min(this.shape.blksize, this.shape.size - offset)) };
  }

  /** Bytes the client has acknowledged. */
  get bytesAcked(): number {
    return Math.min(this.shape.size, this.acked * this.shape.blksize);
  }

  private windowAfterAck(): Step {
    const first = this.acked + 1;
    const last = Math.min(this.acked + this.shape.windowsize, this.lastBlock);
    this.sentUpTo = Math.max(this.sentUpTo, last);
    return { kind: "send", first, last };
  }
}
