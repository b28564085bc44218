#!/usr/bin/env node
// Bundles the CLI into one CommonJS file (build/airstrap.cjs): the npm bin runs it, and
// `make dist` wraps it into a Node single executable application.
import { readFileSync } from "node:fs";
import { build } from "esbuild";

const { version } = JSON.parse(readFileSync("package.json", "utf8"));
await build({
  entryPoints: ["src/cli/main.ts"],
  outfile: "build/airstrap.cjs",
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20",
  sourcemap: false,
  legalComments: "none",
  define: { AIRSTRAP_VERSION: JSON.stringify(version) },
  // ssh2 loads its optional native crypto (and cpu-features) inside try/catch and falls back to
  // pure JavaScript; left out of the bundle, the single-file executable needs no .node files.
  external: ["*.node", "cpu-features"],
  logLevel: "warning",
});
