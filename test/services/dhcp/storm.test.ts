import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { MessageType } from "../../../src/services/dhcp/wire.js";
import { runDiscover, startAirstrapDhcp } from "../../peers/airstrap-dhcp.js";
import { canUseNetns, createPxeNetwork } from "../../peers/pxe-network.js";
import { SERVER, stormConfig, stormMacs } from "./netns-fixture.js";

/**
 * A boot storm: 200 distinct MACs (100 known) DISCOVER in one burst from a scripted client in its
 * own namespace; every known MAC is offered its reserved address, no unknown one gets anything.
 */

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
  const server = await startAirstrapDhcp(network, "srv", config, dir);
  t.after(() => server.stop());

  const macs = known.flatMap((mac, i) => [mac, unknown[i]!]);
  // No early stop: the client listens 3 s past the last DISCOVER, so a late offer to an unknown MAC would show.
  const result = await runDiscover(network, "cli", {
    macs,
    vendor: "PXEClient:Arch:00000:UNDI:002001",
    arch: 0,
    waitMs: 3000,
  });
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
  // Once the server has stopped (its log complete): each unknown MAC reported exactly once.
  await server.stop();
  for (const mac of unknown) assert.equal(server.log().split(`${mac} asked for DHCP`).length - 1, 1, mac);
});
