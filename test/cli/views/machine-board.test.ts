import assert from "node:assert/strict";
import { test } from "node:test";
import { attachMachineBoard } from "../../../src/cli/views/machine-board.js";
import { createEvents } from "../../../src/events.js";

test("without a terminal, init's board says where the last run stopped; the boot services' own events and install's changes get no line", () => {
  const events = createEvents();
  let written = "";
  const write = (text: string) => {
    written += text;
  };
  const stream = { isTTY: false, write } as unknown as NodeJS.WriteStream;
  const view = attachMachineBoard("plain", events, stream);
  events.emit({
    level: "info",
    kind: "init.previous",
    message: "the last airstrap init (r1) ended interrupted: a: ssh",
  });
  events.emit({ level: "info", kind: "dhcp.offer", message: "offered 10.0.0.11" });
  events.emit({ level: "info", kind: "install.change", message: "start rke2 server" });
  events.emit({ level: "warn", kind: "dhcp.unknown", message: "unknown machine" });
  view.close();
  const lines = written.trimEnd().split("\n");
  assert.equal(lines.length, 1, written);
  assert.match(lines[0]!, /^\d\d:\d\d:\d\d airstrap the last airstrap init \(r1\) ended interrupted: a: ssh$/);
});
