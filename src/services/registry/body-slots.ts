/**
 * At most `limit` large blob bodies stream to one client address at a time; the others wait in
 * the order they were asked for and start as earlier ones finish.
 *
 * Why: a puller is bound by its own hashing, writing and fsync, not by this server; a client
 * asking for very many bodies at once gets them a few at a time, each flush overlapping the next
 * transfer. The limit is 6, what skopeo asks for: a limit of 3 made `ctr pull` of an image of 4
 * layers wait for the 4th (0.37–1.06× of Distribution, against 1.03–1.46× with the limit above
 * 4), and skopeo pulled no faster with 2 or 3 than with 6 on issue 20's workload (docs/registry.md).
 *
 * A client that stops reading the bodies it holds while waiting for another one would wait
 * forever; so when none of its bodies has moved for `stallMs`, the next one starts regardless.
 * Clients at different addresses never wait for each other.
 */
export interface BodySlots {
  /** Resolves when the body may stream; `signal` withdraws a request that is still waiting. */
  acquire(client: string, signal: AbortSignal): Promise<BodySlot>;
}

export interface BodySlot {
  /** Called whenever the client took more bytes: it proves the client is still reading. */
  progressed(): void;
  release(): void;
}

interface Waiter {
  admit(): void;
  withdrawn: boolean;
}

interface ClientSlots {
  active: number;
  waiting: Waiter[];
  lastProgress: number;
  stallTimer: NodeJS.Timeout | undefined;
}

export const DEFAULT_BODY_SLOTS = 6;
export const DEFAULT_STALL_MS = 2_000;

export function createBodySlots(options: { limit: number; stallMs: number }): BodySlots {
  const clients = new Map<string, ClientSlots>();

  function admitNext(slots: ClientSlots): boolean {
    for (let waiter = slots.waiting.shift(); waiter; waiter = slots.waiting.shift()) {
      if (waiter.withdrawn) continue;
      slots.active += 1;
      slots.lastProgress = Date.now();
      waiter.admit();
      return true;
    }
    return false;
  }

  function settle(client: string, slots: ClientSlots): void {
    slots.waiting = slots.waiting.filter((waiter) => !waiter.withdrawn);
    while (slots.active < options.limit && admitNext(slots)) {}
    if (slots.waiting.length === 0 && slots.stallTimer) {
      clearInterval(slots.stallTimer);
      slots.stallTimer = undefined;
    }
    if (slots.active === 0 && slots.waiting.length === 0) clients.delete(client);
  }

  function watchForStall(client: string, slots: ClientSlots): void {
    if (slots.stallTimer) return;
    slots.stallTimer = setInterval(() => {
      if (Date.now() - slots.lastProgress >= options.stallMs) admitNext(slots);
      settle(client, slots);
    }, options.stallMs);
    slots.stallTimer.unref();
  }

  function slotFor(client: string, slots: ClientSlots): BodySlot {
    let released = false;
    return {
      progressed: () => {
        slots.lastProgress = Date.now();
      },
      release: () => {
        if (released) return;
        released = true;
        slots.active -= 1;
        settle(client, slots);
      },
    };
  }

  return {
    async acquire(client, signal) {
      let slots = clients.get(client);
      if (!slots) {
        slots = { active: 0, waiting: [], lastProgress: Date.now(), stallTimer: undefined };
        clients.set(client, slots);
      }
      if (slots.active < options.limit) {
        slots.active += 1;
        return slotFor(client, slots);
      }
      const current = slots;
      await new Promise<void>((resolve, reject) => {
        const waiter: Waiter = { admit: resolve, withdrawn: false };
        current.waiting.push(waiter);
        watchForStall(client, current);
        signal.addEventListener(
          "abort",
          () => {
            waiter.withdrawn = true;
            settle(client, current);
            reject(signal.reason);
          },
          { once: true },
        );
      });
      return slotFor(client, current);
    },
  };
}
