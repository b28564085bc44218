/** Replaced at bundle time by esbuild's define; the fallback is for runs from source. */
declare const AIRSTRAP_VERSION: string | undefined;
export const VERSION: string = typeof AIRSTRAP_VERSION === "string" ? AIRSTRAP_VERSION : "0.1.0-dev";
