import assert from "node:assert/strict";
import { test } from "node:test";
import { answer, type Decision } from "../../../src/services/dhcp/answer.js";
import { compileAnswerTable } from "../../../src/services/dhcp/answer-table.js";
import { decodeMessage, MessageType, Option } from "../../../src/services/dhcp/wire.js";
import { dhcpConfig, KNOWN_MAC, pxeDiscover, request, UNKNOWN_MAC } from "./fixture.js";

const full = compileAnswerTable(dhcpConfig());
const proxy = compileAnswerTable(dhcpConfig({ mode: "proxy" }));
const client = { address: "0.0.0.0", port: 68 };

function reply(decision: Decision) {
  assert.equal(decision.kind, "reply", JSON.stringify(decision));
  if (decision.kind !== "reply") throw new Error("unreachable");
  return { ...decision, message: decodeMessage(decision.reply) };
}

const ask = (table = full, datagram = pxeDiscover(), arrival: "dhcp" | "pxe" = "dhcp", from = client) =>
  answer(table, decodeMessage(datagram), arrival, from);

test("full DISCOVER → OFFER of the reserved address with network and boot options, broadcast", () => {
  const offer = reply(ask(full, pxeDiscover({ uuid: Buffer.alloc(17, 7), parameters: [67, 66] })));
  assert.equal(offer.step, "offer");
  assert.deepEqual(offer.to, { address: "255.255.255.255", port: 68 });
  const m = offer.message;
  assert.equal(m.op, 2);
  assert.equal(m.xid, 0x1234);
  assert.equal(m.yiaddr, "10.200.0.11");
  assert.equal(m.siaddr, "10.200.0.1");
  assert.equal(m.file, "undionly.kpxe");
  assert.equal(m.options.get(Option.MESSAGE_TYPE)?.[0], MessageType.OFFER);
  assert.deepEqual([...m.options.get(Option.SERVER_ID)!], [10, 200, 0, 1]);
  assert.deepEqual([...m.options.get(Option.SUBNET_MASK)!], [255, 255, 255, 0]);
  assert.deepEqual([...m.options.get(Option.ROUTER)!], [10, 200, 0, 254]);
  assert.deepEqual([...m.options.get(Option.DNS_SERVERS)!], [10, 200, 0, 11, 10, 200, 0, 12]);
  assert.equal(m.options.get(Option.DOMAIN_NAME)?.toString(), "edge.lan");
  assert.equal(m.options.get(Option.HOSTNAME)?.toString(), "node-1");
  assert.equal(m.options.get(Option.LEASE_TIME)?.readUInt32BE(0), 3600);
  assert.equal(m.options.get(Option.VENDOR_CLASS)?.toString(), "PXEClient");
  assert.deepEqual(m.options.get(Option.CLIENT_UUID), Buffer.alloc(17, 7));
  assert.equal(m.options.get(Option.BOOTFILE_NAME)?.toString(), "undionly.kpxe");
  assert.equal(m.options.get(Option.TFTP_SERVER_NAME)?.toString(), "10.200.0.1");
});

test("a reservation with its own DNS servers gets them instead of the network's (a node resolves through itself)", () => {
  const own = compileAnswerTable(
    dhcpConfig({
      reservations: [{ mac: KNOWN_MAC, hostname: "node-1", address: "10.200.0.11", dnsServers: ["10.200.0.11"] }],
    }),
  );
  const offer = reply(ask(own)).message;
  assert.deepEqual([...offer.options.get(Option.DNS_SERVERS)!], [10, 200, 0, 11]);
});

test("arch picks the NBP; iPXE (user class or option 175) gets the script URL, never the NBP again", () => {
  const file = (datagram: Buffer) => reply(ask(full, datagram)).message.file;
  assert.equal(file(pxeDiscover({ arch: 0 })), "undionly.kpxe");
  for (const arch of [6, 7, 9]) assert.equal(file(pxeDiscover({ arch })), "ipxe.efi");
  assert.equal(file(pxeDiscover({ arch: 7, userClass: "iPXE" })), "http://10.200.0.1:8080/boot.ipxe");
  assert.equal(file(pxeDiscover({ arch: 0, ipxe: true })), "http://10.200.0.1:8080/boot.ipxe");
  // A plain client (no vendor class, no arch) in full mode still gets the BIOS file, without option 60.
  const plain = reply(ask(full, request({ type: MessageType.DISCOVER }))).message;
  assert.equal(plain.file, "undionly.kpxe");
  assert.equal(plain.options.has(Option.VENDOR_CLASS), false);
  // arch 11 (arm64 UEFI) has no NBP here: an address, no file.
  const arm = reply(ask(full, pxeDiscover({ arch: 11 }))).message;
  assert.equal(arm.file, "");
  assert.equal(arm.siaddr, "0.0.0.0");
  // UEFI HTTP boot gets its URL only when one is configured.
  const http = compileAnswerTable(
    dhcpConfig({ boot: { ...dhcpConfig().boot, httpBootUrl: "http://10.200.0.1:8080/ipxe.efi" } }),
  );
  const httpReply = reply(ask(http, pxeDiscover({ vendor: "HTTPClient:Arch:00016", arch: 16 }))).message;
  assert.equal(httpReply.file, "http://10.200.0.1:8080/ipxe.efi");
  assert.equal(httpReply.options.get(Option.VENDOR_CLASS)?.toString(), "HTTPClient");
  assert.deepEqual(ask(proxy, pxeDiscover({ vendor: "HTTPClient:Arch:00016", arch: 16 })), {
    kind: "ignore",
    reason: "no-boot-file",
    mac: KNOWN_MAC,
  });
});

test("unknown MACs are never answered, in either mode, on either port", () => {
  for (const table of [full, proxy])
    for (const arrival of ["dhcp", "pxe"] as const)
      assert.deepEqual(ask(table, pxeDiscover({ mac: UNKNOWN_MAC }), arrival), {
        kind: "ignore",
        reason: "unknown-mac",
        mac: UNKNOWN_MAC,
      });
  // A known MAC without a reservation gets no address in full mode (no dynamic pool).
  const knownOnly = compileAnswerTable(dhcpConfig({ knownMacs: [UNKNOWN_MAC] }));
  assert.equal((ask(knownOnly, pxeDiscover({ mac: UNKNOWN_MAC })) as { reason: string }).reason, "no-reservation");
});

test("REQUEST: ACK for the reserved address; NAK (broadcast) for another; silence when another server was chosen", () => {
  const selecting = (requested: string, serverId = "10.200.0.1") =>
    ask(full, request({ type: MessageType.REQUEST, serverId, requested }));
  const ack = reply(selecting("10.200.0.11"));
  assert.equal(ack.step, "ack");
  assert.equal(ack.message.options.get(Option.MESSAGE_TYPE)?.[0], MessageType.ACK);
  assert.equal(ack.message.yiaddr, "10.200.0.11");
  const nak = reply(selecting("10.200.0.99"));
  assert.equal(nak.step, "nak");
  assert.equal(nak.message.options.get(Option.MESSAGE_TYPE)?.[0], MessageType.NAK);
  assert.equal(nak.message.yiaddr, "0.0.0.0");
  assert.equal(nak.message.file, "");
  assert.equal(nak.message.options.has(Option.LEASE_TIME), false);
  assert.deepEqual(nak.to, { address: "255.255.255.255", port: 68 });
  assert.deepEqual(selecting("10.200.0.11", "10.200.0.77"), { kind: "ignore", reason: "other-server", mac: KNOWN_MAC });
  // INIT-REBOOT (no server id) and RENEWING (ciaddr, unicast back to it)
  assert.equal(reply(ask(full, request({ type: MessageType.REQUEST, requested: "10.200.0.11" }))).step, "ack");
  assert.equal(reply(ask(full, request({ type: MessageType.REQUEST, requested: "10.9.9.9" }))).step, "nak");
  const renew = reply(ask(full, request({ type: MessageType.REQUEST, ciaddr: "10.200.0.11" })));
  assert.equal(renew.step, "ack");
  assert.deepEqual(renew.to, { address: "10.200.0.11", port: 68 });
  const wrongRenew = reply(ask(full, request({ type: MessageType.REQUEST, ciaddr: "10.200.0.50" })));
  assert.equal(wrongRenew.step, "nak");
  assert.deepEqual(wrongRenew.to, { address: "255.255.255.255", port: 68 });
});

test("relayed requests go back to the relay on the server port; a relayed NAK sets the broadcast bit", () => {
  const offer = reply(ask(full, pxeDiscover({ giaddr: "10.50.0.1", flags: 0 })));
  assert.deepEqual(offer.to, { address: "10.50.0.1", port: 67 });
  assert.equal(offer.message.giaddr, "10.50.0.1");
  const nak = reply(ask(full, request({ type: MessageType.REQUEST, requested: "10.9.9.9", giaddr: "10.50.0.1" })));
  assert.deepEqual(nak.to, { address: "10.50.0.1", port: 67 });
  assert.equal(nak.message.flags & 0x8000, 0x8000);
});

test("RELEASE and DECLINE are notices without a reply; INFORM gets configuration without a lease", () => {
  assert.deepEqual(ask(full, request({ type: MessageType.RELEASE, ciaddr: "10.200.0.11", serverId: "10.200.0.1" })), {
    kind: "notice",
    what: "release",
    mac: KNOWN_MAC,
    address: "10.200.0.11",
  });
  assert.deepEqual(
    ask(full, request({ type: MessageType.DECLINE, requested: "10.200.0.11", serverId: "10.200.0.1" })),
    {
      kind: "notice",
      what: "decline",
      mac: KNOWN_MAC,
      address: "10.200.0.11",
    },
  );
  // A ciaddr outside the PXE network is not a destination: broadcast on ours instead.
  const outside = reply(ask(full, request({ type: MessageType.INFORM, ciaddr: "192.0.2.7" })));
  assert.deepEqual(outside.to, { address: "255.255.255.255", port: 68 });
  const inform = reply(ask(full, request({ type: MessageType.INFORM, ciaddr: "10.200.0.11" })));
  assert.equal(inform.step, "inform-ack");
  assert.deepEqual(inform.to, { address: "10.200.0.11", port: 68 });
  assert.equal(inform.message.yiaddr, "0.0.0.0");
  assert.equal(inform.message.ciaddr, "10.200.0.11");
  assert.equal(inform.message.options.has(Option.LEASE_TIME), false);
  assert.deepEqual([...inform.message.options.get(Option.ROUTER)!], [10, 200, 0, 254]);
});

test("proxy: DISCOVER from a PXE client → yiaddr 0, option 60 PXEClient, server id, boot file, next server", () => {
  const offer = reply(ask(proxy, pxeDiscover({ uuid: Buffer.alloc(17, 1) })));
  assert.equal(offer.step, "proxy-offer");
  assert.deepEqual(offer.to, { address: "255.255.255.255", port: 68 });
  const m = offer.message;
  assert.equal(m.options.get(Option.MESSAGE_TYPE)?.[0], MessageType.OFFER);
  assert.equal(m.yiaddr, "0.0.0.0");
  assert.equal(m.siaddr, "10.200.0.1");
  assert.equal(m.file, "undionly.kpxe");
  assert.equal(m.options.get(Option.VENDOR_CLASS)?.toString(), "PXEClient");
  assert.deepEqual([...m.options.get(Option.SERVER_ID)!], [10, 200, 0, 1]);
  assert.deepEqual([...m.options.get(Option.VENDOR_SPECIFIC)!], [6, 1, 8, 255]);
  for (const absent of [Option.LEASE_TIME, Option.SUBNET_MASK, Option.ROUTER, Option.HOSTNAME])
    assert.equal(m.options.has(absent), false, `option ${absent}`);
  // UEFI: no discovery control, the NBP for UEFI
  const uefi = reply(ask(proxy, pxeDiscover({ arch: 7, vendor: "PXEClient:Arch:00007:UNDI:003016" }))).message;
  assert.equal(uefi.file, "ipxe.efi");
  assert.equal(uefi.options.has(Option.VENDOR_SPECIFIC), false);
  // Not a booting client, or not a DISCOVER: the site's DHCP server answers it.
  assert.equal((ask(proxy, request({ type: MessageType.DISCOVER })) as { reason: string }).reason, "not-booting");
  assert.equal(
    (ask(proxy, pxeDiscover({ type: MessageType.REQUEST, requested: "10.200.0.40" })) as { reason: string }).reason,
    "not-for-proxy",
  );
});

test("port 4011: REQUEST from a booting client → ACK to its source address and port", () => {
  const from = { address: "10.200.0.40", port: 68 };
  for (const table of [proxy, full]) {
    const datagram = pxeDiscover({ type: MessageType.REQUEST, ciaddr: "10.200.0.40", arch: 7, flags: 0 });
    const ack = reply(answer(table, decodeMessage(datagram), "pxe", from));
    assert.equal(ack.step, "pxe-ack");
    assert.deepEqual(ack.to, from);
    assert.equal(ack.message.options.get(Option.MESSAGE_TYPE)?.[0], MessageType.ACK);
    assert.equal(ack.message.file, "ipxe.efi");
    assert.equal(ack.message.yiaddr, "0.0.0.0");
    assert.equal(ack.message.options.get(Option.VENDOR_CLASS)?.toString(), "PXEClient");
  }
  assert.equal((ask(proxy, pxeDiscover(), "pxe") as { reason: string }).reason, "not-for-proxy");
});

test("replies and non-DHCP BOOTP are ignored", () => {
  const replyDatagram = pxeDiscover();
  replyDatagram[0] = 2;
  assert.deepEqual(ask(full, replyDatagram), { kind: "ignore", reason: "not-a-request" });
  const bootp = request({ type: MessageType.DISCOVER }).subarray(0, 240);
  assert.deepEqual(ask(full, bootp), { kind: "ignore", reason: "no-message-type" });
});
