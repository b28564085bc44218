import assert from "node:assert/strict";
import { test } from "node:test";
import { Journal } from "../../../src/services/dashboard/journal.js";
import { at } from "./fixture.js";

const filled = (count: number, capacity = 100) => {
  const journal = new Journal("e1", capacity);
  for (let i = 1; i <= count; i += 1) journal.append(at({ kind: "test", message: `event ${i}` }));
  return journal;
};
const messages = (entries: { event: { message: string } }[]) => entries.map((e) => e.event.message);

test("a first visit gets every kept event, numbered in its epoch", () => {
  const resume = filled(3).resume(undefined);
  assert.equal(resume.kind, "continue");
  assert.deepEqual(
    resume.entries.map((e) => e.id),
    ["e1.1", "e1.2", "e1.3"],
  );
});

test("a reconnect with Last-Event-ID gets only what came after it", () => {
  const journal = filled(5);
  assert.deepEqual(messages(journal.resume("e1.3").entries), ["event 4", "event 5"]);
  assert.equal(journal.resume("e1.3").kind, "continue");
  assert.deepEqual(journal.resume("e1.5"), { kind: "continue", entries: [] });
});

test("an id from another server (epoch), from the future or garbage restarts the browser's list", () => {
  const journal = filled(2);
  for (const id of ["e0.1", "e1.9", "e1.x", "nonsense"]) {
    const resume = journal.resume(id);
    assert.equal(resume.kind, "restart", id);
    assert.deepEqual(messages(resume.entries), ["event 1", "event 2"]);
  }
});

test("an id older than what is kept restarts; the last one not kept still continues", () => {
  const journal = filled(10, 4);
  assert.deepEqual(messages(journal.resume(undefined).entries), ["event 7", "event 8", "event 9", "event 10"]);
  assert.deepEqual(messages(journal.resume("e1.6").entries), ["event 7", "event 8", "event 9", "event 10"]);
  assert.equal(journal.resume("e1.6").kind, "continue");
  assert.equal(journal.resume("e1.5").kind, "restart");
});
