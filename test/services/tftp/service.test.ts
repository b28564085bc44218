import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { OperatorError } from "../../../src/errors.js";
import { silentEvents } from "../../../src/events.js";
import { tftpConfig } from "../../../src/services/tftp/config.js";
import { startTftp } from "../../../src/services/tftp/service.js";
import { runProcess } from "../../helpers/cli.js";
import { eventOf, startTestTftp, tempRoot, writeRandomFile } from "./fixture.js";
import { rawDownload } from "./raw-client.js";

test("one event per file served: client, file, bytes, duration, blksize and windowsize", async (t) => {
  const { port, root, events } = await startTestTftp(t);
  await writeRandomFile(join(root, "undionly.kpxe"), 70_000);
  await rawDownload(port, "undionly.kpxe", { blksize: "1468", windowsize: "4" });
  const event = await eventOf(events, "tftp.transfer");
  assert.equal(event.level, "info");
  assert.equal(event.service, "tftp");
  const detail = event.detail!;
  assert.match(String(detail.client), /^127\.0\.0\.1:\d+$/);
  assert.equal(detail.file, "undionly.kpxe");
  assert.equal(detail.bytes, 70_000);
  assert.equal(detail.blksize, 1468);
  assert.equal(detail.windowsize, 4);
  assert.equal(typeof detail.durationMs, "number");
  assert.equal(events.filter((e) => e.kind === "tftp.transfer").length, 1);
});

test("metrics count transfers, bytes, error packets and malformed datagrams in Prometheus text", async (t) => {
  const { port, root, tftp, events } = await startTestTftp(t);
  await writeRandomFile(join(root, "a"), 1000);
  await rawDownload(port, "a");
  await rawDownload(port, "a", { blksize: "100" });
  await assert.rejects(rawDownload(port, "../a"), /server error 2/);
  await assert.rejects(rawDownload(port, "missing"), /server error 1/);
  await eventOf(events, "tftp.transfer");
  const text = tftp.metrics();
  assert.match(text, /# TYPE airstrap_tftp_transfers_total counter/);
  assert.match(text, /airstrap_tftp_transfers_total\{result="complete"\} 2/);
  assert.match(text, /airstrap_tftp_sent_bytes_total 2000/);
  assert.match(text, /airstrap_tftp_errors_total\{code="1"\} 1/);
  assert.match(text, /airstrap_tftp_errors_total\{code="2"\} 1/);
  assert.match(text, /airstrap_tftp_retransmits_total 0/);
  assert.match(text, /airstrap_tftp_transfers_active 0/);
  const refusals = events.filter((e) => e.kind === "tftp.refused").map((e) => e.level);
  assert.deepEqual(refusals, ["warn", "info"]);
});

test("a port already in use is an operator error that names another TFTP server", async (t) => {
  const { tftp } = await startTestTftp(t);
  const root = await tempRoot(t);
  const port = Number(tftp.addresses[0]!.split(":")[1]);
  await assert.rejects(startTftp(tftpConfig([{ address: "127.0.0.1", port }], root), silentEvents), (error) => {
    assert.ok(error instanceof OperatorError);
    assert.match(error.message, /cannot serve TFTP on 127\.0\.0\.1:\d+: the port is in use/);
    assert.match(error.hint ?? "", /dnsmasq/);
    return true;
  });
});

test("port 69 without root or CAP_NET_BIND_SERVICE says what it needs", async (t) => {
  if (process.getuid?.() !== 0) return t.skip("needs root to start a process as nobody");
  const root = await tempRoot(t);
  const script = [
    `import { startTftp } from ${JSON.stringify(new URL("../../../src/services/tftp/service.ts", import.meta.url).href)};`,
    `import { silentEvents } from ${JSON.stringify(new URL("../../../src/events.ts", import.meta.url).href)};`,
    `startTftp({ listen: [{ address: "127.0.0.1", port: 69 }], root: ${JSON.stringify(root)}, maxBlksize: 512, maxWindowsize: 1, timeoutMs: 1000, retries: 1, maxTransfers: 1 }, silentEvents)`,
    `  .then((s) => { console.log("bound"); return s.close(); }, (e) => console.log(e.name, e.message, "|", e.hint));`,
  ].join("\n");
  const result = await runProcess("setpriv", [
    "--reuid=65534",
    "--regid=65534",
    "--clear-groups",
    "--inh-caps=-all",
    process.execPath,
    "--import",
    import.meta.resolve("tsx"),
    "--input-type=module",
    "-e",
    script,
  ]);
  assert.match(
    result.stdout,
    /OperatorError .*127\.0\.0\.1:69: a port below 1024 needs root or CAP_NET_BIND_SERVICE/,
    result.stderr,
  );
  assert.match(result.stdout, /setcap cap_net_bind_service/);
});

test("a missing root is an operator error", async () => {
  await assert.rejects(
    startTftp(tftpConfig([{ address: "127.0.0.1", port: 0 }], "/nonexistent/tftp"), silentEvents),
    (error) => error instanceof OperatorError && /TFTP root \/nonexistent\/tftp/.test(error.message),
  );
});

test("reload serves a new root to the next transfer and keeps the port; close is idempotent", async (t) => {
  const { tftp, port, root } = await startTestTftp(t);
  await writeRandomFile(join(root, "f"), 10);
  const other = await tempRoot(t);
  const fresh = await writeRandomFile(join(other, "f"), 20);
  await tftp.reload(tftpConfig([{ address: "127.0.0.1", port }], other));
  assert.deepEqual(tftp.addresses, [`127.0.0.1:${port}`]);
  assert.ok((await rawDownload(port, "f")).data.equals(fresh));
  await tftp.close();
  await tftp.close();
});
