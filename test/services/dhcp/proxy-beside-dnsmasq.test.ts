import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { DhcpConfig } from "../../../src/services/dhcp/config.js";
import { MessageType } from "../../../src/services/dhcp/wire.js";
import { REPO } from "../../helpers/cli.js";
import type { DiscoverResult } from "../../peers/dhcp-discover.js";
import { startDnsmasqDhcp } from "../../peers/dnsmasq-dhcp.js";
import { canUseNetns, createPxeNetwork, PXE_SUBNET, waitForOutput } from "../../peers/pxe-network.js";
import { stopChild } from "../../peers/unbound.js";
import { KNOWN_MAC, UNKNOWN_MAC } from "./fixture.js";

const TSX = import.meta.resolve("tsx");
const SERVER = `${PXE_SUBNET}.1`;
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
  const config: DhcpConfig = {
    mode: "proxy",
    serverAddress: SERVER,
    netmask: "255.255.255.0",
    reservations: [],
    knownMacs: [KNOWN_MAC],
    dnsServers: [],
    leaseSeconds: 600,
    boot: {
      tftpServer: SERVER,
      biosFile: "undionly.kpxe",
      uefiFile: "ipxe.efi",
      ipxeScriptUrl: `http://${SERVER}:8080/boot.ipxe`,
    },
    ports: { server: 67, client: 68, pxe: 4011 },
  };
  await writeFile(join(dir, "dhcp.json"), JSON.stringify(config));
  const server = network.spawn("srv", [
    process.execPath,
    "--import",
    TSX,
    join(REPO, "src/cli/main.ts"),
    "dhcp",
    "serve",
    "--config",
    join(dir, "dhcp.json"),
  ]);
  t.after(() => stopChild(server));
  await waitForOutput(server, /DHCP listening/);

  const plan = {
    macs: [KNOWN_MAC, UNKNOWN_MAC],
    vendor: "PXEClient:Arch:00000:UNDI:002001",
    arch: 0,
    waitMs: 3000,
    expect: 3,
  };
  const run = await network.exec("cli", [
    process.execPath,
    "--import",
    TSX,
    join(REPO, "test/peers/dhcp-discover.ts"),
    JSON.stringify(plan),
  ]);
  assert.equal(run.code, 0, run.stderr);
  const result = JSON.parse(run.stdout) as DiscoverResult;
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
