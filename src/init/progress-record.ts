import type { StateDir } from "../state/state-dir.js";
import type { MachineRow } from "./machine-steps.js";

/**
 * Where each machine got to, in the state dir (`init.json`): written on every change (temp file and
 * rename, so an interrupted run leaves the last whole record), read by the next `airstrap init` to
 * say where the last run stopped.
 */
export const INIT_RECORD = "init.json";

export interface InitRecord {
  runId: string;
  updatedAt: string;
  /** "running" until the run ends; then how it ended. */
  outcome: "running" | "ready" | "failed" | "interrupted";
  machines: MachineRow[];
}

export async function readInitRecord(state: StateDir): Promise<InitRecord | undefined> {
  const text = await state.read(INIT_RECORD);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as InitRecord;
  } catch {
    return undefined;
  }
}

/** Saves the record; writes never overlap and the last one asked for always lands. */
export function initRecordWriter(state: StateDir, runId: string) {
  let writing: Promise<void> = Promise.resolve();
  return {
    save(outcome: InitRecord["outcome"], machines: MachineRow[]): Promise<void> {
      const record: InitRecord = {
        runId,
        updatedAt: new Date().toISOString(),
        outcome,
        machines: machines.map((m) => ({ ...m })),
      };
      writing = writing.then(() => state.write(INIT_RECORD, `${JSON.stringify(record, null, 2)}\n`)).catch(() => {});
      return writing;
    },
  };
}
