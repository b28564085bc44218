/** xorshift32 for fuzz tests: a fixed seed makes a failure reproducible. */
export function seededRandom(seed: number) {
  let state = seed >>> 0 || 1;
  const next = () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state;
  };
  const int = (n: number) => next() % n;
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));
  const pick = <T>(items: readonly T[]) => items[int(items.length)]!;
  return { next, int, bytes, pick };
}

export type SeededRandom = ReturnType<typeof seededRandom>;
