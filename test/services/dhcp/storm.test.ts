import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { MessageType } from "../../../src/services/dhcp/wire.js";
import { REPO } from "../../helpers/cli.js";
import type { DiscoverResult } from "../../peers/dhcp-discover.js";
import { canUseNetns, createPxeNetwork, PXE_SUBNET, waitForOutput } from "../../peers/pxe-network.js";
import { stopChild } from "../../peers/unbound.js";
import { stormConfig, stormMacs } from "./storm-fixture.js";

/**
 * A boot storm: 200 distinct MACs (100 known) DISCOVER in one burst from a scripted client in its
 * own namespace; every known MAC is offered its reserved address, no unknown one gets anything.
 */

const TSX = import.meta.resolve("tsx");
const SERVER = `${PXE_SUBNET}.1`;
const skip = await canUseNetns();

test("boot storm: 200 MACs DISCOVER at once; all 100 known are offered, none of the 100 unknown", {
  skip,
}, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "airstrap-dhcp-storm-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const network = await createPxeNetwork("dhs", { srv: { address: `${SERVER}/24` }, cli: { defaultRoute: true } });
  t.after(() => network.remove());
  const known = stormMacs(1, 100);
  const unknown = stormMacs(2, 100);
  const config = stormConfig(known);
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
  let log = "";
  server.stderr?.on("data", (chunk: Buffer) => {
    log += chunk.toString();
  });
  t.after(() => stopChild(server));
  await waitForOutput(server, /DHCP listening/);

  const macs = known.flatMap((mac, i) => [mac, unknown[i]!]);
  // No early stop: the client listens 3 s past the last DISCOVER, so a late offer to an unknown MAC would show.
  const plan = { macs, vendor: "PXEClient:Arch:00000:UNDI:002001", arch: 0, waitMs: 3000 };
  const run = await network.exec("cli", [
    process.execPath,
    "--import",
    TSX,
    join(REPO, "test/peers/dhcp-discover.ts"),
    JSON.stringify(plan),
  ]);
  assert.equal(run.code, 0, run.stderr);
  const result = JSON.parse(run.stdout) as DiscoverResult;
  assert.equal(result.sendErrors, 0);
  const offered = new Map(result.replies.filter((r) => r.type === MessageType.OFFER).map((r) => [r.mac, r.yiaddr]));
  assert.deepEqual(
    known.filter((mac, i) => offered.get(mac) !== config.reservations[i]!.address),
    [],
    "known MACs without their reserved address",
  );
  assert.deepEqual(
    unknown.filter((mac) => offered.has(mac)),
    [],
    "unknown MACs offered",
  );
  assert.equal(result.replies.length, 100);
  // Let the server's log catch up, then: each unknown MAC reported exactly once.
  await stopChild(server);
  for (const mac of unknown) assert.equal(log.split(`${mac} asked for DHCP`).length - 1, 1, mac);
});
