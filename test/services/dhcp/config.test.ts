import assert from "node:assert/strict";
import { test } from "node:test";
import { OperatorError } from "../../../src/errors.js";
import { DHCP_PORTS, parseDhcpConfig } from "../../../src/services/dhcp/config.js";

const base = {
  mode: "full",
  serverAddress: "10.0.0.1",
  netmask: "255.255.255.0",
  reservations: [{ mac: "52-54-00-AA-BB-01", hostname: "node-1", address: "10.0.0.11" }],
  boot: { tftpServer: "10.0.0.1", ipxeScriptUrl: "http://10.0.0.1:8080/boot.ipxe" },
};

const refused = (document: unknown, pattern: RegExp) =>
  assert.throws(
    () => parseDhcpConfig(document, "dhcp.yaml"),
    (e: unknown) => e instanceof OperatorError && pattern.test(e.message),
  );

test("defaults: NBP names, lease time, ports 67/68/4011; MACs normalised to lowercase colon form", () => {
  const config = parseDhcpConfig(base, "dhcp.yaml");
  assert.equal(config.boot.biosFile, "undionly.kpxe");
  assert.equal(config.boot.uefiFile, "ipxe.efi");
  assert.equal(config.leaseSeconds, 3600);
  assert.deepEqual(config.ports, DHCP_PORTS);
  assert.equal(config.reservations[0]?.mac, "52:54:00:aa:bb:01");
  assert.deepEqual(parseDhcpConfig({ ...base, ports: { server: 1067 } }, "x").ports, { ...DHCP_PORTS, server: 1067 });
});

test("refused: unknown fields, bad netmask, duplicate MAC or address, an address off the network", () => {
  refused({ ...base, lease: 5 }, /Unrecognized key/i);
  refused({ ...base, netmask: "255.0.255.0" }, /not contiguous/);
  refused(
    { ...base, reservations: [...base.reservations, { ...base.reservations[0], address: "10.0.0.12" }] },
    /reserved twice/,
  );
  refused(
    {
      ...base,
      reservations: [...base.reservations, { mac: "52:54:00:aa:bb:02", hostname: "b", address: "10.0.0.11" }],
    },
    /used twice/,
  );
  refused({ ...base, reservations: [{ mac: "52:54:00:aa:bb:02", hostname: "b", address: "10.0.0.1" }] }, /used twice/);
  refused({ ...base, reservations: [{ mac: "52:54:00:aa:bb:02", hostname: "b", address: "10.0.1.5" }] }, /outside/);
  refused({ ...base, boot: { ...base.boot, biosFile: "x".repeat(128) } }, /boot\.biosFile/);
  refused({ ...base, mode: "proxy", pool: { start: "10.0.0.100", end: "10.0.0.120" } }, /full mode only/);
  refused({ ...base, pool: { start: "10.0.0.120", end: "10.0.0.100" } }, /is empty/);
  refused({ ...base, pool: { start: "10.0.0.100", end: "10.0.1.120" } }, /outside/);
  assert.deepEqual(parseDhcpConfig({ ...base, pool: { start: "10.0.0.100", end: "10.0.0.120" } }, "x").pool, {
    start: "10.0.0.100",
    end: "10.0.0.120",
  });
});
