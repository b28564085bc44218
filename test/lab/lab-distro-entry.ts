/**
 * What the lab's tests run for `airstrap lab-distro …` helpers: the same functions the hidden verb
 * calls, without loading every other verb (so a test of the lab does not depend on them).
 */
import { createEvents } from "../../src/events.js";
import { runReleaseMirror, runSimDistro } from "../../src/lab/sim-distro/program.js";

const [verb, ...args] = process.argv.slice(2);
if (verb !== "lab-distro") throw new Error(`expected lab-distro, got ${verb}`);
const done = args[0] === "mirror" ? runReleaseMirror(args.slice(1)) : runSimDistro(args, createEvents());
done.catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
