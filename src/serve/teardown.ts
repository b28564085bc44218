import { readFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { OperatorError } from "../errors.js";
import type { StateDir } from "../state/state-dir.js";
import { askServeToStop, controlAnswers, readServeRecord, removeServeRecord } from "./serve-record.js";

/**
 * Stops a running `airstrap serve` of this site: through its control endpoint (works across a
 * container boundary), else by its process id when that process is still airstrap serving. Waits
 * until it is gone; the record and the token go with it. Says what it did.
 */
export async function teardownServe(state: StateDir, timeoutMs: number): Promise<string> {
  const record = await readServeRecord(state);
  if (!record) return "nothing to tear down: airstrap serve is not running for this site";
  const deadline = Date.now() + timeoutMs;
  const asked = await askServeToStop(state, record);
  if (asked) {
    while (await controlAnswers(state, record)) {
      if (Date.now() > deadline) throw stillRunning(record.pid);
      await sleep(100);
    }
  }
  if (await isServeProcess(record.pid)) {
    if (!asked) process.kill(record.pid, "SIGTERM");
    while (await isServeProcess(record.pid)) {
      if (Date.now() > deadline) throw stillRunning(record.pid);
      await sleep(100);
    }
  }
  await removeServeRecord(state);
  return asked
    ? `boot services stopped (airstrap serve, pid ${record.pid})`
    : `boot services were not answering; removed the record of pid ${record.pid}`;
}

/** The pid is a live airstrap serve (not a reused pid); false for another pid namespace, where control did the work. */
async function isServeProcess(pid: number): Promise<boolean> {
  const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
  return cmdline.split("\0").includes("serve");
}

function stillRunning(pid: number): OperatorError {
  return new OperatorError(`airstrap serve (pid ${pid}) did not stop in time`, {
    hint: `look at what it is doing (its output), or stop it yourself: kill ${pid}`,
  });
}
