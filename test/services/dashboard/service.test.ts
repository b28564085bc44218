import assert from "node:assert/strict";
import http from "node:http";
import { test } from "node:test";
import { createEvents } from "../../../src/events.js";
import { startDashboard } from "../../../src/services/dashboard/service.js";
import { at, installOf, testConfig } from "./fixture.js";

/** Opens /events and collects what arrives until `enough` says so; then hangs up. */
function readStream(url: string, headers: Record<string, string>, enough: (text: string) => boolean) {
  return new Promise<string>((resolve, reject) => {
    const request = http.get(url, { headers }, (response) => {
      let text = "";
      response.setEncoding("utf8").on("data", (chunk: string) => {
        text += chunk;
        if (enough(text)) {
          request.destroy();
          resolve(text);
        }
      });
    });
    request.on("error", reject);
  });
}
const ids = (text: string) => [...text.matchAll(/^id: (.+)$/gm)].map((m) => m[1]);

test("a browser reconnecting with Last-Event-ID gets only the events it missed", async () => {
  const events = createEvents();
  const dashboard = await startDashboard(testConfig(), events);
  try {
    for (const event of installOf(["s1"], ["connect"])) events.emit(event);
    const url = `http://${dashboard.addresses[0]}/events`;
    const first = await readStream(url, {}, (text) => text.includes("event: state"));
    const seen = ids(first);
    assert.equal(seen.length, 3);
    events.emit(at({ kind: "install.host.start", host: "s2", phase: "connect", message: "started" }));
    const again = await readStream(url, { "last-event-id": seen[2] as string }, (t) => t.includes("event: state"));
    assert.doesNotMatch(again, /event: restart/);
    assert.equal(ids(again).length, 1);
    assert.match(again, /"host":"s2"/);
    const stale = await readStream(url, { "last-event-id": "another-server.3" }, (t) => t.includes("event: state"));
    assert.match(stale, /event: restart/);
    assert.equal(ids(stale).length, 4);
  } finally {
    await dashboard.close();
  }
});

test("a watching browser gets each event once and the state after it", async () => {
  const events = createEvents();
  const dashboard = await startDashboard(testConfig(), events);
  try {
    const url = `http://${dashboard.addresses[0]}/events`;
    const watching = readStream(url, {}, (text) => (text.match(/event: state/g) ?? []).length >= 2);
    for (let i = 0; i < 3000 && dashboard.watchers === 0; i += 1)
      await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(dashboard.watchers, 1);
    for (const event of installOf(["a1"], ["install"])) events.emit(event);
    const text = await watching;
    assert.equal(ids(text).length, 3);
    const lastState = JSON.parse(
      text
        .trim()
        .split("\n")
        .at(-1)
        ?.replace(/^data: /, "") ?? "{}",
    );
    assert.equal(lastState.hosts.find((h: { name: string }) => h.name === "a1").ready, true);
    assert.match(dashboard.metrics(), /^airstrap_dashboard_events_total 3$/m);
  } finally {
    await dashboard.close();
  }
});

test("every answer carries the security headers; the page cannot be framed", async () => {
  const dashboard = await startDashboard(testConfig(), createEvents());
  try {
    for (const path of ["/", "/app.js", "/api/state", "/nothing-here"]) {
      const response = await fetch(`http://${dashboard.addresses[0]}${path}`);
      const csp = response.headers.get("content-security-policy") ?? "";
      assert.match(csp, /frame-ancestors 'none'/, path);
      assert.match(csp, /default-src 'none'/, path);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/, path);
      assert.equal(response.headers.get("x-frame-options"), "DENY", path);
      assert.equal(response.headers.get("x-content-type-options"), "nosniff", path);
      await response.arrayBuffer();
    }
    const post = await fetch(`http://${dashboard.addresses[0]}/`, { method: "POST" });
    assert.equal(post.status, 405);
  } finally {
    await dashboard.close();
  }
});

test("a port in use is the operator's to fix, said in words", async () => {
  const first = await startDashboard(testConfig(), createEvents());
  try {
    const port = Number(first.addresses[0]?.split(":")[1]);
    await assert.rejects(startDashboard(testConfig({ listen: { address: "127.0.0.1", port } }), createEvents()), {
      name: "OperatorError",
      message: new RegExp(`cannot serve the dashboard on 127.0.0.1:${port}: the port is in use`),
    });
  } finally {
    await first.close();
  }
});
