import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { once } from "node:events";
import { test } from "node:test";
import { type AirstrapEvent, createEvents } from "../../../src/events.js";
import { DnsMetrics } from "../../../src/services/dns/metrics.js";
import { listen, reportUdpErrors } from "../../../src/services/dns/server.js";

test("a UDP error after binding is counted in the metrics and told as an event, and the listener keeps serving", async (t) => {
  const metrics = new DnsMetrics();
  const events = createEvents();
  const seen: AirstrapEvent[] = [];
  events.subscribe((event) => seen.push(event));
  // The handler answers every datagram with its own bytes: this test is about the socket, not DNS.
  const listener = await listen(
    { address: "127.0.0.1", port: 0 },
    "k",
    (message) => message,
    1000,
    reportUdpErrors(metrics, events),
  );
  t.after(() => listener.close());
  const counted = () => Number(/^airstrap_dns_udp_errors_total (\d+)$/m.exec(metrics.render({ cacheEntries: 0 }))?.[1]);
  assert.equal(counted(), 0);

  // Injected: on Linux, a reply to a loopback client cannot be made to fail without a firewall
  // rule (an EPERM from sendto), and replies are capped below EMSGSIZE; so the socket is told of
  // an error the way Node tells it of a failed send, by its 'error' event.
  const refused = Object.assign(new Error("send EPERM 127.0.0.1:53"), { code: "EPERM" });
  for (let i = 0; i < 5; i++) listener.udp.emit("error", refused);

  assert.equal(counted(), 5);
  const told = seen.filter((event) => event.kind === "dns.udp.error");
  assert.deepEqual(
    told.map((event) => event.detail?.count),
    [1, 2, 4],
    "the 1st, 2nd and 4th error are told; the rest only counted",
  );
  assert.match(told[0]!.message, new RegExp(`127\\.0\\.0\\.1:${listener.bound.port}: send EPERM`));
  assert.equal(told[0]!.level, "warn");

  const client = createSocket("udp4");
  t.after(() => client.close());
  client.send(Buffer.from("still here"), listener.bound.port, "127.0.0.1");
  const [answer] = (await once(client, "message")) as [Buffer];
  assert.equal(answer.toString(), "still here");
});
