/**
 * The bulk read buffers of the handle path: one pool for every connection of the process, so the
 * memory they take is bounded whatever the number of connections. A direction borrows a buffer
 * while a bulk transfer moves and gives it back when it goes idle (or ends); when every buffer is
 * lent, a direction stays on the shared read buffer and copies each read (slower, never stuck).
 *
 * Idle is found by a sweep over the borrowers only (at most `maxBuffers` of them), not by a timer
 * per connection or any work per byte: a borrower whose read count did not move between two
 * sweeps gives its buffer back.
 */

export interface Borrower {
  /** Called once per sweep; gives the buffer back (through `give`) if nothing was read since the last. */
  sweep(): void;
}

export class BufferPool {
  private readonly free: Buffer[] = [];
  private readonly borrowers = new Set<Borrower>();
  private sweeper: NodeJS.Timeout | undefined;

  constructor(
    readonly bufferBytes: number,
    /** Buffers lent at most at once: the pool's memory bound is maxBuffers × bufferBytes. */
    readonly maxBuffers: number,
    /** Buffers kept for the next borrower once given back; the rest are left to the collector. */
    private readonly maxFree: number,
    private readonly sweepMs: number,
  ) {}

  /** A buffer for `borrower`, or undefined when all are lent. */
  take(borrower: Borrower): Buffer | undefined {
    if (this.borrowers.size >= this.maxBuffers) return undefined;
    this.borrowers.add(borrower);
    if (this.sweeper === undefined) {
      this.sweeper = setInterval(() => this.sweep(), this.sweepMs);
      this.sweeper.unref();
    }
    return this.free.pop() ?? Buffer.allocUnsafe(this.bufferBytes);
  }

  give(borrower: Borrower, buffer: Buffer): void {
    if (!this.borrowers.delete(borrower)) return;
    if (this.free.length < this.maxFree) this.free.push(buffer);
    if (this.borrowers.size === 0 && this.sweeper !== undefined) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }

  get lent(): number {
    return this.borrowers.size;
  }

  private sweep(): void {
    for (const borrower of [...this.borrowers]) borrower.sweep();
  }
}
