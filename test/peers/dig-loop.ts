import { spawn } from "node:child_process";
import { rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A dig loop (BIND 9's dig, one process per query) at a fixed rate, for measuring a service that
 * must not drop queries while it changes. A shell loop starts the digs (a Node timer that spawns
 * each falls behind on a loaded machine); each reports when it started and ended, how many of its
 * tries timed out, and its answer. Bounded: stops on `stop()`, after `maxQueries`, or `maxSeconds`.
 */
export interface DigSample {
  startedAt: number;
  endedAt: number;
  /** Tries that timed out (a retry followed, or the query failed). */
  timeouts: number;
  ok: boolean;
}

export interface DigLoop {
  stop(): Promise<DigSample[]>;
}

// bash 5: EPOCHREALTIME and `read -t` keep the loop's own clock work free of extra processes.
const SCRIPT = `
set -u
addr=$1 port=$2 name=$3 tries=$4 timeout=$5 interval_us=$6 max=$7 seconds=$8 stopfile=$9
exec {pause}<> <(:)
next=\${EPOCHREALTIME/./}
i=0
while [ "$i" -lt "$max" ] && [ ! -e "$stopfile" ] && [ "$SECONDS" -lt "$seconds" ]; do
  (
    s=\${EPOCHREALTIME/./}
    out=$(dig @"$addr" -p "$port" "$name" A +tries="$tries" +timeout="$timeout" +noall +answer +comments 2>&1)
    e=\${EPOCHREALTIME/./}
    t=0 a=none
    while IFS= read -r line; do
      case $line in *"timed out"*) t=$((t + 1)) ;; esac
      set -- $line
      [ "\${4:-}" = A ] && [ "$a" = none ] && a=$5
    done <<< "$out"
    echo "$((s / 1000)) $((e / 1000)) $t $a"
  ) &
  i=$((i + 1))
  next=$((next + interval_us))
  wait_us=$((next - \${EPOCHREALTIME/./}))
  if [ "$wait_us" -gt 0 ]; then read -t "$(printf '%d.%06d' $((wait_us / 1000000)) $((wait_us % 1000000)))" -u "$pause" || true; fi
done
wait
`;

/** How the hand-over is measured (issue 16): 20 queries/s, one retry, each try with dig's default 5 s timeout. */
export const TWENTY_A_SECOND_ONE_RETRY = { intervalMs: 50, tries: 2, timeoutSeconds: 5 } as const;

export function startDigLoop(options: {
  address: string;
  port: number;
  name: string;
  expected: string;
  intervalMs: number;
  tries: number;
  timeoutSeconds: number;
  maxQueries: number;
  maxSeconds: number;
  /** Niceness of the loop and its digs (root may raise their priority above the machine's other load). */
  nice?: number;
}): DigLoop {
  const stopFile = join(tmpdir(), `airstrap-dig-loop-${process.pid}-${Date.now()}.stop`);
  const child = spawn(
    "nice",
    [
      "-n",
      String(options.nice ?? 0),
      "bash",
      "-c",
      SCRIPT,
      "dig-loop",
      options.address,
      String(options.port),
      options.name,
      String(options.tries),
      String(options.timeoutSeconds),
      String(options.intervalMs * 1000),
      String(options.maxQueries),
      String(options.maxSeconds),
      stopFile,
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString("utf8");
  });
  const exited = new Promise<void>((resolve) => child.once("close", () => resolve()));
  return {
    async stop() {
      await writeFile(stopFile, "");
      await exited;
      await rm(stopFile, { force: true });
      return output
        .split("\n")
        .filter((line) => line.trim() !== "")
        .map((line) => {
          const [start, end, timeouts, answer] = line.trim().split(/\s+/);
          return {
            startedAt: Number(start),
            endedAt: Number(end),
            timeouts: Number(timeouts),
            ok: answer === options.expected,
          };
        });
    },
  };
}

/**
 * Failures (no answer even after the retry), tries lost (timed out, whether a retry saved them or
 * not), the slowest query and the longest time between two answers, in ms.
 */
export function digLoopFigures(samples: DigSample[]) {
  const answered = samples
    .filter((s) => s.ok)
    .map((s) => s.endedAt)
    .sort((a, b) => a - b);
  let maxGap = 0;
  for (let i = 1; i < answered.length; i++) maxGap = Math.max(maxGap, answered[i]! - answered[i - 1]!);
  const first = Math.min(...samples.map((s) => s.startedAt));
  const last = Math.max(...samples.map((s) => s.startedAt));
  return {
    queries: samples.length,
    perSecond: Number((samples.length / Math.max(1, (last - first) / 1000)).toFixed(1)),
    failures: samples.filter((s) => !s.ok).length,
    lostTries: samples.reduce((sum, s) => sum + s.timeouts, 0),
    maxLatencyMs: Math.max(0, ...samples.map((s) => s.endedAt - s.startedAt)),
    maxGapMs: maxGap,
  };
}
