#!/usr/bin/env node
// Bundles the CLI into one CommonJS file (build/airstrap.cjs): the npm bin runs it, and
// `make dist` wraps it into a Node single executable application. Tests that need an executable of
// their own bundle with `--outfile` (and another entry point with `--entry`), the same way.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { build } from "esbuild";

const { values: options } = parseArgs({
  options: {
    entry: { type: "string", default: "src/cli/main.ts" },
    outfile: { type: "string", default: "build/airstrap.cjs" },
  },
});

const { version } = JSON.parse(readFileSync("package.json", "utf8"));

const optionalNativeModulesAbsent = {
  name: "optional-native-modules-absent",
  setup(builder) {
    builder.onResolve({ filter: /(^cpu-features$|\.node$)/ }, (args) => ({ path: args.path, namespace: "absent" }));
    builder.onLoad({ filter: /.*/, namespace: "absent" }, (args) => ({
      contents: `throw new Error(${JSON.stringify(`${args.path} is not part of the airstrap bundle`)});`,
      loader: "js",
    }));
  },
};
await build({
  entryPoints: [options.entry],
  outfile: options.outfile,
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20",
  sourcemap: false,
  legalComments: "none",
  // Some ESM dependencies (openpgp) call createRequire(import.meta.url), which a CommonJS bundle
  // leaves undefined: give them this file's own URL (the executable's, in the single-file one).
  define: { AIRSTRAP_VERSION: JSON.stringify(version), "import.meta.url": "__airstrapImportMetaUrl" },
  banner: { js: 'var __airstrapImportMetaUrl = require("node:url").pathToFileURL(__filename).href;' },
  // ssh2 loads its optional native crypto (and cpu-features) inside try/catch and falls back to
  // Node's own crypto. Both resolve to a module that throws, so the single-file executable needs
  // no .node files and never asks its require() for one (which prints a warning on every start).
  plugins: [optionalNativeModulesAbsent],
  logLevel: "warning",
});
