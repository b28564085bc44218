/**
 * At most `limit` tasks at once across every caller that shares it — unlike runPool, whose limit
 * holds only within one call. Waiting tasks start in the order they asked.
 */
export interface Limiter {
  run<T>(task: () => Promise<T>): Promise<T>;
}

export function createLimiter(limit: number): Limiter {
  let running = 0;
  const waiting: Array<() => void> = [];
  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else running--;
  };
  return {
    async run(task) {
      if (running < Math.max(1, limit)) running++;
      // The slot passes straight from a finishing task to this one, so `running` stays counted.
      else await new Promise<void>((resolve) => waiting.push(resolve));
      try {
        return await task();
      } finally {
        release();
      }
    },
  };
}
