import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { MessageType } from "../../../src/services/dhcp/wire.js";
import { notOnThisMachine } from "../../helpers/skip.js";
import { waitFor } from "../../helpers/wait-for.js";
import { runDiscover, startAirstrapDhcp } from "../../peers/airstrap-dhcp.js";
import { canUseNetns, createPxeNetwork, PXE_SUBNET, refuseSendsTo } from "../../peers/pxe-network.js";
import { KNOWN_MAC, request } from "./fixture.js";
import { netnsConfig, SERVER } from "./netns-fixture.js";

/** A renewing client's address: its ACK goes there by unicast, which the server's kernel refuses. */
const UNREACHABLE = `${PXE_SUBNET}.50`;

test("a reply the kernel refuses to send is counted and told, and the server goes on answering", async (t) => {
  const missing = await canUseNetns();
  if (missing) return t.skip(notOnThisMachine(missing));
  const dir = await mkdtemp(join(tmpdir(), "airstrap-dhcp-senderr-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const network = await createPxeNetwork("dhse", {
    srv: { address: `${SERVER}/24` },
    renewer: { address: `${PXE_SUBNET}.2/24` },
    cli: { mac: KNOWN_MAC, defaultRoute: true },
  });
  t.after(() => network.remove());
  await refuseSendsTo(network, "srv", UNREACHABLE);
  const server = await startAirstrapDhcp(
    network,
    "srv",
    netnsConfig({ reservations: [{ mac: KNOWN_MAC, hostname: "node-1", address: UNREACHABLE }] }),
    dir,
  );
  t.after(() => server.stop());

  // A renewal from the reserved address (ciaddr set): the ACK is unicast to it, and refused.
  const renewal = join(dir, "renewal.bin");
  await writeFile(renewal, request({ type: MessageType.REQUEST, ciaddr: UNREACHABLE, xid: 0x5e7d }));
  const sent = await network.exec("renewer", ["bash", "-c", `cat ${renewal} > /dev/udp/${SERVER}/67`]);
  assert.equal(sent.code, 0, sent.stderr);
  await waitFor(() => server.log().includes("a DHCP reply could not be sent"), "the refused reply told");
  assert.match(server.log(), /a DHCP reply could not be sent: send EACCES/);

  // The same machine booting afresh is offered its address (by broadcast) all the same.
  const result = await runDiscover(network, "cli", { macs: [KNOWN_MAC], waitMs: 2000, expect: 1 });
  assert.deepEqual(
    result.replies.map((reply) => [reply.type, reply.yiaddr]),
    [[MessageType.OFFER, UNREACHABLE]],
  );
});
