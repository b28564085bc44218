import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { test } from "node:test";
import { OperatorError } from "../../../src/errors.js";
import { type AirstrapEvent, createEvents } from "../../../src/events.js";
import { startDhcp } from "../../../src/services/dhcp/service.js";
import { MessageType, Option } from "../../../src/services/dhcp/wire.js";
import { KNOWN_MAC, pxeDiscover, request, UNKNOWN_MAC } from "./fixture.js";
import { freeUdpPort, loopbackClient, loopbackConfig } from "./loopback-client.js";

function recorder() {
  const events = createEvents();
  const seen: AirstrapEvent[] = [];
  events.subscribe((event) => seen.push(event));
  return { events, seen };
}

test("full mode over loopback: a renewal is acknowledged to the client's address; events and metrics follow", async (t) => {
  const client = await loopbackClient();
  t.after(() => client.close());
  const { events, seen } = recorder();
  const config = await loopbackConfig(client.port);
  const dhcp = await startDhcp(config, events);
  t.after(() => dhcp.close());
  await client.send(request({ type: MessageType.REQUEST, ciaddr: "127.0.0.1", xid: 41 }), config.ports.server);
  const ack = await client.reply(41);
  assert.equal(ack?.options.get(Option.MESSAGE_TYPE)?.[0], MessageType.ACK);
  assert.equal(ack?.yiaddr, "127.0.0.1");
  // An unknown MAC asking twice: no reply, one event.
  for (const xid of [42, 43])
    await client.send(
      request({ type: MessageType.REQUEST, ciaddr: "127.0.0.1", xid, mac: UNKNOWN_MAC }),
      config.ports.server,
    );
  await client.send(request({ type: MessageType.REQUEST, ciaddr: "127.0.0.1", xid: 44 }), config.ports.server);
  assert.ok(await client.reply(44));
  assert.equal(client.replies.filter((r) => r.xid === 42 || r.xid === 43).length, 0);
  assert.deepEqual(
    seen.filter((e) => e.kind === "dhcp.unknown-mac").map((e) => e.detail?.mac),
    [UNKNOWN_MAC],
  );
  assert.equal(seen.filter((e) => e.kind === "dhcp.ack").length, 2);
  assert.equal(seen.find((e) => e.kind === "dhcp.ack")?.host, "node-1");
  assert.deepEqual(dhcp.unknownMacs, [UNKNOWN_MAC]);
  const metrics = dhcp.metrics();
  assert.match(metrics, /^airstrap_dhcp_replies_total\{step="ack"\} 2$/m);
  assert.match(metrics, /^airstrap_dhcp_ignored_total\{reason="unknown-mac"\} 2$/m);
  assert.match(metrics, /^airstrap_dhcp_unknown_macs 1$/m);
  assert.match(metrics, /^airstrap_dhcp_received_total\{port="dhcp"\} 4$/m);
});

test("proxy mode: the 4011 REQUEST/ACK exchange with a dgram client", async (t) => {
  const client = await loopbackClient();
  t.after(() => client.close());
  const { events, seen } = recorder();
  const config = await loopbackConfig(client.port, { mode: "proxy" });
  const dhcp = await startDhcp(config, events);
  t.after(() => dhcp.close());
  const datagram = pxeDiscover({ type: MessageType.REQUEST, ciaddr: "127.0.0.1", arch: 7, xid: 77, flags: 0 });
  await client.send(datagram, config.ports.pxe);
  const ack = await client.reply(77);
  assert.equal(ack?.options.get(Option.MESSAGE_TYPE)?.[0], MessageType.ACK);
  assert.equal(ack?.file, "ipxe.efi");
  assert.equal(ack?.siaddr, "127.0.0.1");
  assert.equal(ack?.options.get(Option.VENDOR_CLASS)?.toString(), "PXEClient");
  assert.equal(seen.filter((e) => e.kind === "dhcp.pxe-ack").length, 1);
  assert.match(dhcp.metrics(), /^airstrap_dhcp_received_total\{port="pxe"\} 1$/m);
});

test("a port held by another DHCP server is a clear error, not a silent share", async (t) => {
  const port = await freeUdpPort();
  const other = createSocket({ type: "udp4", reuseAddr: true });
  await new Promise<void>((resolve) => other.bind(port, "0.0.0.0", () => resolve()));
  t.after(() => new Promise<void>((resolve) => other.close(() => resolve())));
  const config = await loopbackConfig(68);
  await assert.rejects(
    startDhcp({ ...config, ports: { ...config.ports, server: port } }, createEvents()),
    (error: unknown) =>
      error instanceof OperatorError &&
      /another DHCP server already holds the port/.test(error.message) &&
      /dnsmasq/.test(error.hint ?? ""),
  );
});

test("reload swaps the machines answered; a reload to new ports rebinds", async (t) => {
  const client = await loopbackClient();
  t.after(() => client.close());
  const config = await loopbackConfig(client.port);
  const dhcp = await startDhcp(config, createEvents());
  t.after(() => dhcp.close());
  const renew = (xid: number, mac = KNOWN_MAC) => request({ type: MessageType.REQUEST, ciaddr: "127.0.0.1", xid, mac });
  await client.send(renew(1, UNKNOWN_MAC), config.ports.server);
  // The known machine's answer shows the unknown one's request was handled before the reload.
  await client.send(renew(0), config.ports.server);
  assert.ok(await client.reply(0));
  const next = { ...config, reservations: [{ mac: UNKNOWN_MAC, hostname: "node-9", address: "127.0.0.1" }] };
  await dhcp.reload(next);
  await client.send(renew(2, UNKNOWN_MAC), config.ports.server);
  assert.equal((await client.reply(2))?.options.get(Option.HOSTNAME)?.toString(), "node-9");
  const moved = { ...next, ports: { ...next.ports, server: await freeUdpPort() } };
  await dhcp.reload(moved);
  assert.ok(dhcp.addresses.includes(`127.0.0.1:${moved.ports.server}`));
  await client.send(renew(3, UNKNOWN_MAC), moved.ports.server);
  assert.ok(await client.reply(3));
  assert.equal(client.replies.filter((r) => r.xid === 1).length, 0);
});
