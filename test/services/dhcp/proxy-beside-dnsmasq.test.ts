import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { MessageType } from "../../../src/services/dhcp/wire.js";
import { runDiscover, startAirstrapDhcp } from "../../peers/airstrap-dhcp.js";
import { startDnsmasqDhcp } from "../../peers/dnsmasq-dhcp.js";
import { canUseNetns, createPxeNetwork, PXE_SUBNET } from "../../peers/pxe-network.js";
import { stopChild } from "../../peers/unbound.js";
import { KNOWN_MAC, UNKNOWN_MAC } from "./fixture.js";
import { netnsConfig, SERVER } from "./netns-fixture.js";

const DNSMASQ = `${PXE_SUBNET}.2`;
const skip = await canUseNetns();

test("proxy mode beside dnsmasq: the PXE client gets dnsmasq's address offer and airstrap's boot offer", {
  skip,
}, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "airstrap-dhcp-proxy-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const network = await createPxeNetwork("dhp", {
    srv: { address: `${SERVER}/24` },
    dsq: { address: `${DNSMASQ}/24` },
    cli: { defaultRoute: true },
  });
  t.after(() => network.remove());
  const dnsmasq = await startDnsmasqDhcp(network, "dsq", [
    `dhcp-range=${PXE_SUBNET}.100,${PXE_SUBNET}.150,255.255.255.0,5m`,
    "no-ping",
  ]);
  t.after(() => stopChild(dnsmasq));
  const server = await startAirstrapDhcp(network, "srv", netnsConfig({ mode: "proxy", knownMacs: [KNOWN_MAC] }), dir);
  t.after(() => server.stop());

  const plan = {
    macs: [KNOWN_MAC, UNKNOWN_MAC],
    vendor: "PXEClient:Arch:00000:UNDI:002001",
    arch: 0,
    waitMs: 3000,
    expect: 3,
  };
  const result = await runDiscover(network, "cli", plan);
  const offers = (mac: string, from: string) =>
    result.replies.filter((r) => r.mac === mac && r.serverId === from && r.type === MessageType.OFFER);

  const [address] = offers(KNOWN_MAC, DNSMASQ);
  assert.ok(address, JSON.stringify(result.replies));
  assert.match(address.yiaddr, new RegExp(`^${PXE_SUBNET.replaceAll(".", "\\.")}\\.1[0-5]\\d$`));
  const [boot] = offers(KNOWN_MAC, SERVER);
  assert.ok(boot, JSON.stringify(result.replies));
  assert.equal(boot.yiaddr, "0.0.0.0");
  assert.equal(boot.vendor, "PXEClient");
  assert.equal(boot.file, "undionly.kpxe");
  assert.equal(boot.siaddr, SERVER);
  // dnsmasq hands the stranger an address; airstrap never answers it.
  assert.equal(offers(UNKNOWN_MAC, DNSMASQ).length, 1);
  assert.equal(offers(UNKNOWN_MAC, SERVER).length, 0);
});
