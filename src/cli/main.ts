import { runCli } from "./program.js";

// No top-level await: this file is also bundled as CommonJS for the single-file executable.
void runCli(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
