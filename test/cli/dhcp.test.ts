import assert from "node:assert/strict";
import { chmod, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { REPO, runAirstrap, tempDir } from "../helpers/cli.js";
import { startDnsmasqDhcp } from "../peers/dnsmasq-dhcp.js";
import { canUseNetns, createPxeNetwork, PXE_SUBNET } from "../peers/pxe-network.js";
import { stopChild } from "../peers/unbound.js";
import { netnsConfig, SERVER } from "../services/dhcp/netns-fixture.js";

const TSX = import.meta.resolve("tsx");
const netnsSkip = await canUseNetns();
const serve = (file: string) => [
  process.execPath,
  "--import",
  TSX,
  join(REPO, "src/cli/main.ts"),
  "dhcp",
  "serve",
  "--config",
  file,
];

test("dhcp serve: the flag form says what it needs; a bad config names the file and the field", async (t) => {
  const missing = await runAirstrap(["dhcp", "serve", "--mode", "full"]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /the flag form needs --mode, --server-address and --ipxe-script/);
  const badReserve = await runAirstrap([
    ...[
      "dhcp",
      "serve",
      "--mode",
      "full",
      "--server-address",
      "10.0.0.1",
      "--ipxe-script",
      "http://10.0.0.1/boot.ipxe",
    ],
    ...["--reserve", "52:54:00:00:00:01,node-1"],
  ]);
  assert.equal(badReserve.code, 2);
  assert.match(badReserve.stderr, /expected MAC,HOSTNAME,ADDRESS/);
  const dir = await tempDir(t, "airstrap-dhcp-cli-");
  const file = join(dir, "dhcp.yaml");
  await writeFile(
    file,
    "mode: full\nserverAddress: 10.0.0.1\nnetmask: 255.255.255.0\nreservations:\n  - { mac: nope, hostname: a, address: 10.0.0.2 }\nboot: { tftpServer: 10.0.0.1, ipxeScriptUrl: http://10.0.0.1/boot.ipxe }\n",
  );
  const bad = await runAirstrap(["dhcp", "serve", "--config", file]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /dhcp\.yaml: reservations\.0\.mac: expected a MAC address/);
  await writeFile(
    file,
    JSON.stringify(netnsConfig({ reservations: [{ mac: "52:54:00:00:00:01", hostname: "a", address: "10.9.9.9" }] })),
  );
  const outside = await runAirstrap(["dhcp", "serve", "--config", file]);
  assert.equal(outside.code, 1);
  assert.match(outside.stderr, /10\.9\.9\.9 is outside/);
});

test("dhcp serve without root or CAP_NET_BIND_SERVICE: a clear error and what to do", {
  skip: netnsSkip,
}, async (t) => {
  const dir = await tempDir(t, "airstrap-dhcp-cli-");
  await chmod(dir, 0o755);
  const file = join(dir, "dhcp.json");
  await writeFile(file, JSON.stringify(netnsConfig()));
  await chmod(file, 0o644);
  const network = await createPxeNetwork("dhu", { srv: { address: `${SERVER}/24` } });
  t.after(() => network.remove());
  const nobody = [
    "setpriv",
    "--reuid=65534",
    "--regid=65534",
    "--clear-groups",
    "--inh-caps=-all",
    "--bounding-set=-all",
  ];
  const run = await network.exec("srv", [...nobody, ...serve(file)]);
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, /cannot serve DHCP on 0\.0\.0\.0:67: permission denied/);
  assert.match(run.stderr, /CAP_NET_BIND_SERVICE/);
});

test("dhcp serve beside a running dnsmasq DHCP server: a clear error, not a silent share", {
  skip: netnsSkip,
}, async (t) => {
  const dir = await tempDir(t, "airstrap-dhcp-cli-");
  const file = join(dir, "dhcp.json");
  await writeFile(file, JSON.stringify(netnsConfig()));
  const network = await createPxeNetwork("dhi", { srv: { address: `${SERVER}/24` } });
  t.after(() => network.remove());
  const dnsmasq = await startDnsmasqDhcp(network, "srv", [
    `dhcp-range=${PXE_SUBNET}.100,${PXE_SUBNET}.150,255.255.255.0,5m`,
  ]);
  t.after(() => stopChild(dnsmasq));
  const run = await network.exec("srv", serve(file));
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, /cannot serve DHCP on 0\.0\.0\.0:67: another DHCP server already holds the port/);
  assert.match(run.stderr, /dnsmasq/);
});
