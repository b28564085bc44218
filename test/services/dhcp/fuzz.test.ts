import assert from "node:assert/strict";
import { test } from "node:test";
import { createEvents } from "../../../src/events.js";
import { answer } from "../../../src/services/dhcp/answer.js";
import { compileAnswerTable } from "../../../src/services/dhcp/answer-table.js";
import { startDhcp } from "../../../src/services/dhcp/service.js";
import { decodeMessage, MalformedMessage, MessageType, Option } from "../../../src/services/dhcp/wire.js";
import { dhcpConfig, pxeDiscover, request } from "./fixture.js";
import { loopbackClient, loopbackConfig } from "./loopback-client.js";
import { malformedDatagrams } from "./malformed.js";

/**
 * 100,000 malformed datagrams through the codec and the answer, then 100,000 more at the
 * running server over loopback: nothing but MalformedMessage is ever thrown, the server never
 * crashes, and good clients are answered between the bursts and afterwards.
 */

const COUNT = 100_000;

test("codec and answer: 100k malformed datagrams raise only MalformedMessage; every reply decodes", () => {
  const tables = [compileAnswerTable(dhcpConfig()), compileAnswerTable(dhcpConfig({ mode: "proxy" }))];
  let malformed = 0;
  let replies = 0;
  for (const datagram of malformedDatagrams(COUNT)) {
    let message: ReturnType<typeof decodeMessage>;
    try {
      message = decodeMessage(datagram);
    } catch (error) {
      assert.ok(error instanceof MalformedMessage, String(error));
      malformed += 1;
      continue;
    }
    for (const table of tables)
      for (const arrival of ["dhcp", "pxe"] as const) {
        const decision = answer(table, message, arrival, { address: "10.200.0.40", port: 68 });
        if (decision.kind === "reply") {
          replies += 1;
          assert.equal(decodeMessage(decision.reply).xid, message.xid);
        }
      }
  }
  // The generator really produces broken input (most of it), and some mangled input still answers.
  assert.ok(malformed > COUNT / 2, `only ${malformed} malformed`);
  assert.ok(replies > 0);
});

test("server: 100k malformed datagrams over loopback; good clients are answered throughout", async (t) => {
  const client = await loopbackClient();
  t.after(() => client.close());
  const fuzzer = await loopbackClient();
  t.after(() => fuzzer.close());
  const config = await loopbackConfig(client.port, { mode: "full" });
  const dhcp = await startDhcp(config, createEvents());
  t.after(() => dhcp.close());
  let xid = 1000;
  /** A renewal (port 67) and a PXE boot server request (4011), each retried: loopback may drop under load. */
  const goodClientAnswered = async () => {
    for (let attempt = 0; attempt < 10; attempt++) {
      const renew = ++xid;
      const pxe = ++xid;
      await client.send(request({ type: MessageType.REQUEST, ciaddr: "127.0.0.1", xid: renew }), config.ports.server);
      await client.send(
        pxeDiscover({ type: MessageType.REQUEST, ciaddr: "127.0.0.1", xid: pxe, flags: 0 }),
        config.ports.pxe,
      );
      const [ack, pxeAck] = await Promise.all([client.reply(renew, 1000), client.reply(pxe, 1000)]);
      if (ack && pxeAck) {
        assert.equal(ack.options.get(Option.MESSAGE_TYPE)?.[0], MessageType.ACK);
        assert.equal(pxeAck.file, "undionly.kpxe");
        return true;
      }
    }
    return false;
  };
  let sent = 0;
  const pending: Promise<void>[] = [];
  for (const datagram of malformedDatagrams(COUNT, 0xf022)) {
    keepOnLoopback(datagram);
    pending.push(fuzzer.send(datagram, sent % 4 === 0 ? config.ports.pxe : config.ports.server).catch(() => undefined));
    sent += 1;
    if (pending.length === 256) {
      await Promise.all(pending.splice(0));
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (sent % 20_000 === 0) assert.ok(await goodClientAnswered(), `no answer after ${sent} malformed datagrams`);
  }
  await Promise.all(pending);
  assert.ok(await goodClientAnswered());
  const metrics = dhcp.metrics();
  const malformed = Number(/^airstrap_dhcp_malformed_total (\d+)$/m.exec(metrics)?.[1]);
  assert.ok(malformed > 10_000, metrics);
});

/**
 * Replies go to ciaddr or giaddr: the fuzz fixes both (client 127.0.0.1, no relay) so that no
 * mangled address sends a reply anywhere but loopback.
 */
function keepOnLoopback(datagram: Buffer): void {
  if (datagram.length >= 16) Buffer.from([127, 0, 0, 1]).copy(datagram, 12);
  if (datagram.length >= 28) datagram.fill(0, 24, 28);
}
