import assert from "node:assert/strict";
import { test } from "node:test";
import { parseReport } from "../../../src/services/boot-http/report.js";
import { curl } from "../../peers/curl.js";
import { bootServer, MAC_1, TWO_MACHINES } from "./harness.js";

const FINGERPRINT = `SHA256:${"A".repeat(43)}`;
const REPORT = JSON.stringify({
  status: "first-boot-done",
  ignition: "success",
  sshHostKeyFingerprints: [FINGERPRINT],
});
const post = (body: string) => ["-X", "POST", "-H", "Content-Type: application/json", "--data-binary", body];

test("a known machine's first-boot report is accepted and becomes an event", async (t) => {
  const { url, events } = await bootServer(t, TWO_MACHINES);
  const out = await curl(url("/report?mac=52-54-00-00-00-01"), post(REPORT));
  assert.equal(out.status, 204);
  const report = events.find((e) => e.kind === "boot.report");
  assert.equal(report?.level, "info");
  assert.deepEqual(report?.detail, {
    mac: MAC_1,
    group: "node1",
    status: "first-boot-done",
    ignition: "success",
    sshHostKeyFingerprints: [FINGERPRINT],
  });
  assert.match((await curl(url("/metrics"))).text, /^airstrap_boot_http_reports_total 1$/m);
  const failed = await curl(url(`/report?mac=${MAC_1}`), post('{"status":"first-boot-failed","ignition":"failure"}'));
  assert.equal(failed.status, 204);
  assert.equal(events.at(-1)?.level, "warn");
});

test("reports from unknown MACs, too large, not JSON or of the wrong shape are refused", async (t) => {
  const { url, events } = await bootServer(t, TWO_MACHINES);
  assert.equal((await curl(url("/report?mac=52:54:00:00:00:99"), post(REPORT))).status, 404);
  assert.equal(events.at(-1)?.kind, "boot.report.refused");
  assert.equal((await curl(url("/report"), post(REPORT))).status, 404);
  assert.equal((await curl(url("/report?os=installed"), post(REPORT))).status, 404);
  const big = JSON.stringify({ status: "first-boot-done", message: "x".repeat(20_000) });
  assert.equal((await curl(url(`/report?mac=${MAC_1}`), post(big))).status, 413);
  assert.equal((await curl(url(`/report?mac=${MAC_1}`), post("{"))).status, 400);
  const wrong = await curl(url(`/report?mac=${MAC_1}`), post('{"status":"done"}'));
  assert.equal(wrong.status, 400);
  assert.match(wrong.text, /status must be one of/);
  assert.equal((await curl(url(`/report?mac=${MAC_1}`))).status, 405);
  assert.equal(events.filter((e) => e.kind === "boot.report").length, 0, "no refused report became a report event");
});

test("report bodies: known fields checked, unknown ones ignored", () => {
  assert.deepEqual(parseReport('{"status":"first-boot-done","extra":1}'), {
    ok: true,
    report: { status: "first-boot-done", ignition: "unknown", sshHostKeyFingerprints: [] },
  });
  for (const body of [
    "[]",
    '{"status":"first-boot-done","ignition":"maybe"}',
    '{"status":"first-boot-done","sshHostKeyFingerprints":["MD5:aa"]}',
    '{"status":"first-boot-done","sshHostKeyFingerprints":"SHA256:x"}',
    `{"status":"first-boot-done","message":"${"x".repeat(501)}"}`,
    '{"status":"first-boot-done","message":3}',
  ]) {
    assert.equal(parseReport(body).ok, false, body);
  }
});
