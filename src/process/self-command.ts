import { runningAsSingleExecutable } from "../single-executable.js";
/**
 * How to run this same airstrap again as a separate process (for the lab's long-running helpers):
 * the single-file executable is one file; from source or the bundle it is node + its flags + the script.
 */
export async function selfCommand(): Promise<string[]> {
  if (runningAsSingleExecutable()) return [process.execPath];
  const script = process.argv[1];
  if (!script) throw new Error("cannot tell which script is running");
  return [process.execPath, ...process.execArgv, script];
}
