/**
 * A readers-writer gate inside one process: pushes that publish content pass shared (many at a
 * time); garbage collection's sweep passes exclusive, so it never deletes a blob between a push
 * checking it exists and the manifest that references it landing.
 */
export interface Gate {
  shared<T>(work: () => Promise<T>): Promise<T>;
  exclusive<T>(work: () => Promise<T>): Promise<T>;
}

export function createGate(): Gate {
  let readers = 0;
  let writer = false;
  const waiting: { exclusive: boolean; wake: () => void }[] = [];

  function pump(): void {
    while (waiting.length > 0 && !writer) {
      const next = waiting[0]!;
      if (next.exclusive) {
        if (readers > 0) return;
        waiting.shift();
        writer = true;
        next.wake();
        return;
      }
      waiting.shift();
      readers += 1;
      next.wake();
    }
  }

  function enter(exclusive: boolean): Promise<void> {
    return new Promise((wake) => {
      waiting.push({ exclusive, wake });
      pump();
    });
  }

  return {
    async shared(work) {
      await enter(false);
      try {
        return await work();
      } finally {
        readers -= 1;
        pump();
      }
    },
    async exclusive(work) {
      await enter(true);
      try {
        return await work();
      } finally {
        writer = false;
        pump();
      }
    },
  };
}
