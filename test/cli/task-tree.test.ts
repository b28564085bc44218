import assert from "node:assert/strict";
import { test } from "node:test";
import { attachView } from "../../src/cli/views/event-views.js";
import { TaskTree } from "../../src/cli/views/task-tree.js";
import { type AirstrapEvent, createEvents } from "../../src/events.js";

const event = (kind: string, fields: Partial<AirstrapEvent> = {}): AirstrapEvent =>
  ({ time: "2026-11-22T10:00:00.000Z", level: "info", kind, message: "started", ...fields }) as AirstrapEvent;

test("the task tree follows two lanes running the same phase and a phase of their own", () => {
  const tree = new TaskTree();
  const apply = (kind: string, fields: Partial<AirstrapEvent> = {}) => tree.apply(event(kind, fields));
  apply("install.phase.start", { phase: "Distribute artifacts" });
  apply("install.phase.start", { phase: "Distribute artifacts" });
  apply("install.host.start", { phase: "Distribute artifacts", host: "srv-1" });
  apply("install.host.start", { phase: "Distribute artifacts", host: "agt-1" });
  apply("install.host.done", { phase: "Distribute artifacts", host: "srv-1" });
  apply("install.phase.end", { phase: "Distribute artifacts" });
  apply("install.phase.start", { phase: "Start the primary server" });
  apply("install.host.start", { phase: "Start the primary server", host: "srv-1" });
  // Events without a phase go to the phase their host is in, not to the newest phase.
  apply("install.upload.progress", {
    host: "agt-1",
    level: "debug",
    message: "rke2-images.tar.zst",
    detail: { sent: 50, total: 100 },
  });
  apply("install.change", { host: "srv-1", message: "start rke2 server" });
  assert.equal(tree.apply(event("lab.note", { level: "warn", message: "no host" })), false);

  const rows = tree.rows();
  assert.deepEqual(
    rows.map((r) => [r.title, r.state]),
    [
      ["Distribute artifacts", "running"],
      ["Start the primary server", "running"],
    ],
  );
  assert.deepEqual(rows[0]!.hosts, [
    { host: "srv-1", state: "done", note: "started" },
    { host: "agt-1", state: "running", note: "rke2-images.tar.zst 50%" },
  ]);
  assert.deepEqual(rows[1]!.hosts, [{ host: "srv-1", state: "running", note: "start rke2 server" }]);

  apply("install.host.fail", { phase: "Distribute artifacts", host: "agt-1", level: "error", message: "disk full" });
  apply("install.phase.end", { phase: "Distribute artifacts", level: "error" });
  assert.equal(tree.rows()[0]!.state, "failed");
});

test("while a prompt holds the live tree, it neither draws nor prints; its warnings come after", () => {
  const events = createEvents();
  const written: string[] = [];
  const stream = {
    isTTY: false,
    write: (text: string) => written.push(text) > 0,
  } as unknown as NodeJS.WriteStream;
  const view = attachView("tree", events, stream);
  const release = view.hold();
  events.emit({ level: "warn", kind: "install.files.unreachable", host: "a", message: "careful" });
  events.emit({ level: "info", kind: "install.phase.start", phase: "Connect", message: "Connect (a)" });
  assert.deepEqual(written, []);
  release();
  assert.match(written.join(""), /careful/);
  view.close();
  assert.match(written.join(""), /Connect/);
});
