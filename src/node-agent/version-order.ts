/**
 * Orders airstrap versions (`MAJOR.MINOR.PATCH[-PRE][+BUILD]`, as package.json holds them): by
 * the numbers, then a release after its pre-releases, pre-releases by their dot-separated parts
 * (numeric parts as numbers); build metadata does not count. Pure.
 */
export function compareVersions(a: string, b: string): number {
  const [coreA, preA] = split(a);
  const [coreB, preB] = split(b);
  for (let i = 0; i < 3; i++) {
    const diff = (coreA[i] ?? 0) - (coreB[i] ?? 0);
    if (diff !== 0) return Math.sign(diff);
  }
  if (preA === undefined || preB === undefined) return preA === preB ? 0 : preA === undefined ? 1 : -1;
  const partsA = preA.split(".");
  const partsB = preB.split(".");
  for (let i = 0; i < Math.max(partsA.length, partsB.length); i++) {
    const x = partsA[i];
    const y = partsB[i];
    if (x === undefined || y === undefined) return x === undefined ? -1 : 1;
    if (x === y) continue;
    const numeric = /^\d+$/.test(x) && /^\d+$/.test(y);
    if (numeric) return Math.sign(Number(x) - Number(y));
    return x < y ? -1 : 1;
  }
  return 0;
}

function split(version: string): [number[], string | undefined] {
  const withoutBuild = version.trim().replace(/^v/, "").split("+")[0]!;
  const dash = withoutBuild.indexOf("-");
  const core = (dash < 0 ? withoutBuild : withoutBuild.slice(0, dash)).split(".").map((n) => Number(n) || 0);
  return [core, dash < 0 ? undefined : withoutBuild.slice(dash + 1)];
}
