import assert from "node:assert/strict";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type AirstrapDhcp, startAirstrapDhcp } from "../../peers/airstrap-dhcp.js";
import { canUseNetns, createPxeNetwork, PXE_SUBNET, type PxeNetwork } from "../../peers/pxe-network.js";
import { KNOWN_MAC, UNKNOWN_MAC } from "./fixture.js";
import { netnsConfig, SERVER } from "./netns-fixture.js";

/**
 * Full mode against real DHCP clients (busybox udhcpc, ISC dhclient) in a network namespace:
 * the server runs as `airstrap dhcp serve` inside its own namespace on the real ports 67/68.
 */

const skip = await canUseNetns();
/** Known, without a reservation: served from the explicit pool. */
const POOL_MAC = "52:54:00:00:00:77";

const config = netnsConfig({
  reservations: [{ mac: KNOWN_MAC, hostname: "node-1", address: `${PXE_SUBNET}.11` }],
  router: `${PXE_SUBNET}.254`,
  dnsServers: [`${PXE_SUBNET}.11`, `${PXE_SUBNET}.12`],
  domain: "edge.lan",
  knownMacs: [POOL_MAC],
  pool: { start: `${PXE_SUBNET}.100`, end: `${PXE_SUBNET}.110` },
});

let network: PxeNetwork;
let dir: string;
let server: AirstrapDhcp;

before(async () => {
  if (skip) return;
  dir = await mkdtemp(join(tmpdir(), "airstrap-dhcp-clients-"));
  network = await createPxeNetwork("dhc", {
    srv: { address: `${SERVER}/24` },
    known: { mac: KNOWN_MAC },
    stranger: { mac: UNKNOWN_MAC },
    pooled: { mac: POOL_MAC },
  });
  server = await startAirstrapDhcp(network, "srv", config, dir);
});

after(async () => {
  if (skip) return;
  await server?.stop();
  await network?.remove();
  await rm(dir, { recursive: true, force: true });
});

/** A udhcpc script that records what the lease carried. */
async function udhcpcScript(name: string): Promise<{ path: string; read(): Promise<Record<string, string>> }> {
  const out = join(dir, `${name}.env`);
  const path = join(dir, `${name}.sh`);
  const fields = ["ip", "subnet", "router", "dns", "domain", "hostname", "boot_file", "siaddr", "serverid", "lease"];
  await writeFile(
    path,
    `#!/bin/sh\n[ "$1" = bound ] || exit 0\n{\n${fields.map((f) => `echo "${f}=$${f}"`).join("\n")}\n} > ${out}\n`,
  );
  await chmod(path, 0o755);
  return {
    path,
    read: () => readAssignments(out),
  };
}

/** KEY=value lines (values possibly in single quotes, as `env` and dhclient print them) → a record. */
async function readAssignments(file: string): Promise<Record<string, string>> {
  const lines = (await readFile(file, "utf8")).trim().split("\n");
  return Object.fromEntries(
    lines.map((line) => [
      line.slice(0, line.indexOf("=")),
      line
        .slice(line.indexOf("=") + 1)
        .trim()
        .replace(/^'|'$/g, ""),
    ]),
  );
}

const udhcpc = (script: string, extra: string[] = []) => [
  "udhcpc",
  ...["-i", "eth0", "-f", "-q", "-n", "-t", "3", "-T", "1", "-A", "1", "-s", script],
  ...extra,
];

test("udhcpc gets the reserved address, gateway, DNS, domain, host name and the BIOS boot file", { skip }, async () => {
  const script = await udhcpcScript("bios");
  const run = await network.exec("known", udhcpc(script.path));
  assert.equal(run.code, 0, run.stderr);
  const lease = await script.read();
  assert.equal(lease.ip, `${PXE_SUBNET}.11`);
  assert.equal(lease.subnet, "255.255.255.0");
  assert.equal(lease.router, `${PXE_SUBNET}.254`);
  assert.equal(lease.dns, `${PXE_SUBNET}.11 ${PXE_SUBNET}.12`);
  assert.equal(lease.domain, "edge.lan");
  assert.equal(lease.hostname, "node-1");
  assert.equal(lease.boot_file, "undionly.kpxe");
  assert.equal(lease.siaddr, SERVER);
  assert.equal(lease.serverid, SERVER);
  assert.equal(lease.lease, "600");
  assert.match(server.log(), new RegExp(`offered ${PXE_SUBNET}.11 to ${KNOWN_MAC} \\(node-1\\)`));
  assert.match(server.log(), new RegExp(`acknowledged ${PXE_SUBNET}.11 for ${KNOWN_MAC}`));
});

test("udhcpc as a UEFI PXE client gets ipxe.efi; as iPXE it gets the script URL", { skip }, async () => {
  const uefi = await udhcpcScript("uefi");
  const uefiRun = await network.exec(
    "known",
    udhcpc(uefi.path, ["-V", "PXEClient:Arch:00007:UNDI:003016", "-x", "0x5d:0007"]),
  );
  assert.equal(uefiRun.code, 0, uefiRun.stderr);
  assert.equal((await uefi.read()).boot_file, "ipxe.efi");
  const ipxe = await udhcpcScript("ipxe");
  const ipxeRun = await network.exec(
    "known",
    udhcpc(ipxe.path, ["-V", "PXEClient:Arch:00007:UNDI:003016", "-x", "0x5d:0007", "-x", "0x4d:69505845"]),
  );
  assert.equal(ipxeRun.code, 0, ipxeRun.stderr);
  assert.equal((await ipxe.read()).boot_file, `http://${SERVER}:8080/boot.ipxe`);
});

test("dhclient gets the reserved address, gateway, DNS and boot file", { skip }, async () => {
  const out = join(dir, "dhclient.env");
  const script = join(dir, "dhclient-script.sh");
  await writeFile(script, `#!/bin/sh\n[ "$reason" = BOUND ] || exit 0\nenv | grep '^new_' > ${out}\n`);
  await chmod(script, 0o755);
  const conf = join(dir, "dhclient.conf");
  await writeFile(
    conf,
    "timeout 10;\nretry 1;\nrequest subnet-mask, routers, domain-name-servers, domain-name, host-name;\n",
  );
  const files = ["-sf", script, "-cf", conf, "-lf", join(dir, "dhclient.leases"), "-pf", join(dir, "dhclient.pid")];
  const run = await network.exec("known", ["dhclient", "-1", "-v", ...files, "eth0"]);
  // It went to the background holding the lease: stop it (without a RELEASE).
  await network.exec("known", ["dhclient", "-x", ...files, "eth0"]);
  assert.equal(run.code, 0, run.stderr);
  const env = await readAssignments(out);
  assert.equal(env.new_ip_address, `${PXE_SUBNET}.11`);
  assert.equal(env.new_routers, `${PXE_SUBNET}.254`);
  assert.equal(env.new_domain_name_servers, `${PXE_SUBNET}.11 ${PXE_SUBNET}.12`);
  assert.equal(env.new_filename, "undionly.kpxe");
  assert.equal(env.new_next_server, SERVER);
});

test("an unknown MAC gets nothing: udhcpc times out, the server reports the MAC once", { skip }, async () => {
  const script = await udhcpcScript("stranger");
  const run = await network.exec("stranger", udhcpc(script.path, ["-t", "2"]));
  assert.notEqual(run.code, 0);
  await assert.rejects(readFile(join(dir, "stranger.env")));
  const reports = server
    .log()
    .split("\n")
    .filter((line) => line.includes(`${UNKNOWN_MAC} asked for DHCP`));
  assert.equal(reports.length, 1, server.log());
  assert.doesNotMatch(server.log(), new RegExp(`(offered|acknowledged) .* to ${UNKNOWN_MAC}`));
});

test("a known MAC without a reservation gets an address from the explicit pool, and the same one again", {
  skip,
}, async () => {
  const first = await udhcpcScript("pool-1");
  const run = await network.exec("pooled", udhcpc(first.path));
  assert.equal(run.code, 0, run.stderr);
  const lease = await first.read();
  assert.equal(lease.ip, `${PXE_SUBNET}.100`);
  assert.equal(lease.router, `${PXE_SUBNET}.254`);
  assert.equal(lease.hostname, "");
  const again = await udhcpcScript("pool-2");
  assert.equal((await network.exec("pooled", udhcpc(again.path))).code, 0);
  assert.equal((await again.read()).ip, `${PXE_SUBNET}.100`);
});
