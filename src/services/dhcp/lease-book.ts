import { ipv4Number, ipv4Text } from "./config.js";

/**
 * The leases of an explicitly configured pool (full mode, known machines without a reservation):
 * which MAC holds which address until when. Pure bookkeeping; the caller passes the time.
 */

/** What the answer reads: the address a MAC has or would be offered, and whether it may hold one. */
export interface LeaseView {
  /** The MAC's current address, else the first free one; undefined when the pool is exhausted. */
  addressFor(mac: string): string | undefined;
  /** The address is this MAC's lease, or free in the pool (a client back after our restart). */
  mayHold(mac: string, address: string): boolean;
}

interface Lease {
  address: number;
  expires: number;
}

/** How long an offered address is kept for its MAC before it goes back to the pool. */
export const OFFER_HOLD_MS = 60_000;

export class LeaseBook {
  private readonly byMac = new Map<string, Lease>();
  private readonly byAddress = new Map<number, string>();
  private readonly declinedUntil = new Map<number, number>();
  private readonly first: number;
  private readonly last: number;

  constructor(
    pool: { start: string; end: string },
    private readonly reserved: Set<string>,
  ) {
    this.first = ipv4Number(pool.start);
    this.last = ipv4Number(pool.end);
  }

  /** A read-only view at one instant. */
  view(now: number): LeaseView {
    return {
      addressFor: (mac) => {
        const held = this.current(mac, now);
        if (held !== undefined) return ipv4Text(held.address);
        for (let address = this.first; address <= this.last; address++)
          if (this.isFree(address, now)) return ipv4Text(address);
        return undefined;
      },
      mayHold: (mac, text) => {
        const address = ipv4Number(text);
        const held = this.current(mac, now);
        if (held !== undefined) return held.address === address;
        return address >= this.first && address <= this.last && this.isFree(address, now);
      },
    };
  }

  /** Records an offer (held OFFER_HOLD_MS) or an acknowledged lease (held `seconds`). */
  record(mac: string, text: string, now: number, holdMs: number): void {
    const address = ipv4Number(text);
    const earlier = this.byMac.get(mac);
    if (earlier !== undefined && earlier.address !== address) this.byAddress.delete(earlier.address);
    this.byMac.set(mac, { address, expires: now + holdMs });
    this.byAddress.set(address, mac);
  }

  release(mac: string): void {
    const lease = this.byMac.get(mac);
    if (lease === undefined) return;
    this.byMac.delete(mac);
    this.byAddress.delete(lease.address);
  }

  /** The client found the address in use by someone else: keep it out of the pool for `holdMs`. */
  decline(mac: string, text: string, now: number, holdMs: number): void {
    if (this.byMac.get(mac)?.address === ipv4Number(text)) this.release(mac);
    this.declinedUntil.set(ipv4Number(text), now + holdMs);
  }

  private current(mac: string, now: number): Lease | undefined {
    const lease = this.byMac.get(mac);
    return lease !== undefined && lease.expires > now ? lease : undefined;
  }

  private isFree(address: number, now: number): boolean {
    if (this.reserved.has(ipv4Text(address))) return false;
    if ((this.declinedUntil.get(address) ?? 0) > now) return false;
    const holder = this.byAddress.get(address);
    return holder === undefined || this.current(holder, now)?.address !== address;
  }
}
