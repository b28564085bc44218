import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { once } from "node:events";
import { test } from "node:test";
import { type AirstrapEvent, createEvents } from "../../../src/events.js";
import { formatEndpoint } from "../../../src/net/endpoint.js";
import { DnsMetrics } from "../../../src/services/dns/metrics.js";
import { listen, reportUdpErrors } from "../../../src/services/dns/server.js";
import { notOnThisMachine } from "../../helpers/skip.js";
import { waitFor } from "../../helpers/wait-for.js";
import { canUseNetns, createPxeNetwork, PXE_SUBNET, refuseSendsTo } from "../../peers/pxe-network.js";
import { AIRSTRAP_FROM_SOURCE, ONE_NODE_FLAGS } from "./processes.js";

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

  // The reporter alone, for its thinning; the next test causes a real refused send.
  const report = reportUdpErrors(metrics, events);
  const refused = Object.assign(new Error("send EPERM 127.0.0.1:53"), { code: "EPERM" });
  for (let i = 0; i < 5; i++) report(refused, formatEndpoint(listener.bound));
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

test("a reply the kernel refuses to send is counted and told (a real EACCES), and other clients are answered", async (t) => {
  const missing = await canUseNetns();
  if (missing) return t.skip(notOnThisMachine(missing));
  const [server, refusedClient, otherClient] = [1, 2, 3].map((n) => `${PXE_SUBNET}.${n}`) as [string, string, string];
  const network = await createPxeNetwork("dnserr", {
    server: { address: `${server}/24` },
    refused: { address: `${refusedClient}/24` },
    other: { address: `${otherClient}/24` },
  });
  t.after(() => network.remove());
  await refuseSendsTo(network, "server", refusedClient);
  const dns = network.spawn("server", [
    ...AIRSTRAP_FROM_SOURCE,
    "dns",
    ...ONE_NODE_FLAGS,
    "--allow",
    `${PXE_SUBNET}.0/24`,
    "--listen",
    `${server}:53`,
    "--http",
    `${server}:9153`,
  ]);
  t.after(() => {
    dns.kill("SIGKILL");
  });
  let stderr = "";
  dns.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  await waitFor(() => stderr.includes("DNS listening on"), "the DNS server to listen", 60_000);

  const lost = await network.exec("refused", ["dig", `@${server}`, "+tries=1", "+time=1", "n.a.lan", "A"]);
  assert.match(lost.stdout, /timed out|no servers could be reached/, "the refused client gets no answer");
  await waitFor(
    () => /DNS UDP listener .*EACCES|DNS UDP listener .*permission denied/i.test(stderr),
    "the refused send told",
  );

  const answered = await network.exec("other", ["dig", `@${server}`, "+tries=1", "+time=2", "+short", "n.a.lan", "A"]);
  assert.equal(answered.stdout.trim(), "10.0.0.1", JSON.stringify(answered));
  const metrics = await network.exec("server", ["curl", "-s", "--max-time", "5", `http://${server}:9153/metrics`]);
  const count = Number(/^airstrap_dns_udp_errors_total (\d+)$/m.exec(metrics.stdout)?.[1]);
  assert.ok(count >= 1, `airstrap_dns_udp_errors_total is ${count}`);
});
