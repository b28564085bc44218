#!/usr/bin/env node
// Bundles the CLI into one CommonJS file (build/airstrap.cjs): the npm bin runs it, and
// `make dist` wraps it into a Node single executable application. Tests that need an executable of
// their own bundle with `--outfile` (and another entry point with `--entry`), the same way.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { build } from "esbuild";

const { values: options } = parseArgs({
  options: {
    entry: { type: "string" },
    outfile: { type: "string" },
    // What the bundle reports as its version (else AIRSTRAP_BUILD_VERSION, else package.json's):
    // tests build two versions of the same source to exercise an upgrade, and so can
    // `AIRSTRAP_BUILD_VERSION=0.2.0-rc.1 make image`.
    version: { type: "string" },
  },
});
// Without --entry: the shipped CLI and, separately, the lab build (every verb plus the simulated
// distro, which must not ship in the executable every node runs).
const builds =
  options.entry === undefined
    ? [
        { entry: "src/cli/main.ts", outfile: options.outfile ?? "build/airstrap.cjs" },
        { entry: "src/cli/lab-main.ts", outfile: "build/airstrap-lab.cjs" },
      ]
    : [{ entry: options.entry, outfile: options.outfile ?? "build/airstrap.cjs" }];

const version =
  options.version ?? process.env.AIRSTRAP_BUILD_VERSION ?? JSON.parse(readFileSync("package.json", "utf8")).version;

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
// The status page's files, inlined: src/services/dashboard/page-assets.ts reads them from disk when
// run from source; in the bundle it becomes a module holding their text.
const pageAssetsInlined = {
  name: "page-assets-inlined",
  setup(builder) {
    builder.onLoad({ filter: /[\\/]services[\\/]dashboard[\\/]page-assets\.ts$/ }, () => {
      const root = fileURLToPath(new URL("..", import.meta.url));
      const folder = join(root, "src/services/dashboard/page");
      const resolve = createRequire(join(root, "package.json")).resolve;
      const listed = JSON.parse(readFileSync(join(folder, "files.json"), "utf8"));
      const assets = listed.map((entry) => ({
        path: entry.path,
        type: entry.type,
        text: readFileSync(entry.file === undefined ? resolve(entry.package) : join(folder, entry.file), "utf8"),
      }));
      return { contents: `export function pageAssets() { return ${JSON.stringify(assets)}; }`, loader: "js" };
    });
  },
};
for (const { entry, outfile } of builds) {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    sourcemap: false,
    // Comments hold non-Latin-1 characters (—, ×, ≥), which made V8 keep the 4 MB source as a
    // two-byte string (8 MB) in every airstrap process; without whitespace and comments it is a
    // one-byte string of ~3 MB. Names are kept, so stack traces still read.
    minifyWhitespace: true,
    legalComments: "none",
    // A dependency that reads import.meta.url (openpgp: createRequire(import.meta.url) at load) would
    // get undefined in CommonJS and throw on every start: give it the bundle's own file URL instead.
    define: { AIRSTRAP_VERSION: JSON.stringify(version), "import.meta.url": "__airstrapModuleUrl" },
    banner: { js: 'var __airstrapModuleUrl = require("node:url").pathToFileURL(__filename).href;' },
    // ssh2 loads its optional native crypto (and cpu-features) inside try/catch and falls back to
    // Node's own crypto. Both resolve to a module that throws, so the single-file executable needs
    // no .node files and never asks its require() for one (which prints a warning on every start).
    plugins: [optionalNativeModulesAbsent, pageAssetsInlined],
    logLevel: "warning",
  });
}
