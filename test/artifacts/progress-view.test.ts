import assert from "node:assert/strict";
import { test } from "node:test";
import { attachProgressView, progressLine } from "../../src/artifacts/progress-view.js";
import { createEvents } from "../../src/events.js";

function fakeStream(isTTY: boolean) {
  const writes: string[] = [];
  const stream = {
    isTTY,
    columns: 80,
    write: (text: string) => writes.push(text) > 0,
  } as unknown as NodeJS.WriteStream;
  return { stream, writes };
}

test("a progress line shows a bar, the percentage and the sizes", () => {
  assert.equal(progressLine("k3s", 512 * 1024, 2 * 1024 * 1024, 8), "k3s [##------]  25% 0.5 MiB/2.0 MiB");
  assert.equal(progressLine("k3s", 3 * 1024 * 1024, undefined), "k3s 3.0 MiB");
  const long = progressLine("k3s-airgap-images-amd64.tar.zst", 1, 2, 10, 50);
  assert.equal(long, "k3s-airgap-imag… [#####-----]  50% 0.0 MiB/0.0 MiB");
  assert.equal(long.length, 50);
});

test("without a terminal: plain lines, progress every 10%, no escape codes", () => {
  const events = createEvents();
  const { stream, writes } = fakeStream(false);
  const detach = attachProgressView(events, stream);
  events.emit({ level: "info", kind: "artifacts.file.start", message: "k3s: fetching", detail: { name: "k3s" } });
  for (let bytes = 0; bytes <= 100; bytes += 5) {
    events.emit({
      level: "debug",
      kind: "artifacts.file.progress",
      message: "",
      detail: { name: "k3s", bytes, total: 100 },
    });
  }
  events.emit({
    level: "warn",
    kind: "artifacts.file.retry",
    message: "k3s: cut; retry 1 in 500 ms",
    detail: { name: "k3s" },
  });
  detach();
  const text = writes.join("");
  assert.ok(!text.includes("\x1b["));
  const lines = text.trim().split("\n");
  assert.equal(lines[0], "k3s: fetching");
  assert.deepEqual(
    lines.slice(1, 11),
    ["10", "20", "30", "40", "50", "60", "70", "80", "90", "100"].map((p) => `k3s: ${p}%`),
  );
  assert.equal(lines[11], "warn: k3s: cut; retry 1 in 500 ms");
});

test("on a terminal: bars are redrawn in place and cleared when the transfer is done", () => {
  const events = createEvents();
  const { stream, writes } = fakeStream(true);
  const detach = attachProgressView(events, stream);
  events.emit({
    level: "debug",
    kind: "artifacts.file.progress",
    message: "",
    detail: { name: "k3s", bytes: 50, total: 100 },
  });
  events.emit({ level: "info", kind: "artifacts.file.done", message: "k3s: downloaded", detail: { name: "k3s" } });
  detach();
  const text = writes.join("");
  assert.match(text, /k3s \[#{15}-{15}\] {2}50%/);
  assert.match(text, /\x1b\[1A\x1b\[Jk3s: downloaded\n/);
});
