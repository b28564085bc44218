/**
 * The lab build (build/airstrap-lab.cjs, and its executable airstrap-lab): every verb of airstrap
 * plus the hidden `lab-distro`, the SIMULATED rke2/k3s and the lab's release mirror. The shipped
 * build (main.ts) does not contain the simulation at all; lab hosts run this one.
 */
import { commands } from "./commands.js";
import { registerLabDistro } from "./lab-distro.js";
import { runCli } from "./program.js";

// `airstrap plan | head` closes the pipe early; that is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(process.exitCode === undefined ? 0 : Number(process.exitCode));
    throw error;
  });
}

// No top-level await: this file is also bundled as CommonJS for the single-file executable.
void runCli(process.argv.slice(2), [...commands, registerLabDistro]).then((code) => {
  process.exitCode = code;
});
