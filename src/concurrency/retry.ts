import { setTimeout as sleep } from "node:timers/promises";
import { OperatorError } from "../errors.js";

export interface RetryPolicy {
  attempts: number;
  /** Delay before the second attempt; doubles each time, up to `maxDelayMs`, with ±50% jitter. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 6, baseDelayMs: 500, maxDelayMs: 15_000 };

/** A fault worth trying again: network resets, timeouts, 5xx and 429. */
export class TransientError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "TransientError";
  }
}

export function backoffDelay(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const exponential = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(exponential * (0.5 + random()));
}

/**
 * Runs `action` until it succeeds, throws a non-transient error, or attempts run out; then the
 * last transient fault becomes an OperatorError (the network or mirror is the operator's to fix).
 */
export async function withRetry<T>(
  policy: RetryPolicy,
  action: (attempt: number) => Promise<T>,
  onRetry: (error: Error, attempt: number, delayMs: number) => void = () => {},
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await action(attempt);
    } catch (error) {
      if (!(error instanceof TransientError)) throw error;
      if (attempt >= policy.attempts) {
        throw new OperatorError(`${error.message} (gave up after ${attempt} attempts)`, {
          hint: "check the network or the mirror and run the command again: finished work is kept, cut transfers resume",
          cause: error,
        });
      }
      const delay = backoffDelay(policy, attempt);
      onRetry(error, attempt, delay);
      await sleep(delay);
    }
  }
}
