import { join } from "node:path";
import { stateDirBeside } from "../state/state-dir.js";

/** The store lives in the state dir beside the manifest unless --store says otherwise. */
export function defaultStoreDir(manifestFile: string): string {
  return join(stateDirBeside(manifestFile), "store");
}
