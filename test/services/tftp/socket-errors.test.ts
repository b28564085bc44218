import assert from "node:assert/strict";
import { test } from "node:test";
import { airstrapCommand } from "../../helpers/pxe-site.js";
import { notOnThisMachine } from "../../helpers/skip.js";
import { waitFor } from "../../helpers/wait-for.js";
import { canUseNetns, createPxeNetwork, PXE_SUBNET, refuseSendsTo } from "../../peers/pxe-network.js";
import { tempRoot } from "./fixture.js";

const SERVER = `${PXE_SUBNET}.1`;
const CLIENT = `${PXE_SUBNET}.2`;

test("an error on the listening socket after bind is told as an event, and the server keeps serving", async (t) => {
  const missing = await canUseNetns();
  if (missing) return t.skip(notOnThisMachine(missing));
  const network = await createPxeNetwork("tftperr", {
    server: { address: `${SERVER}/24` },
    client: { address: `${CLIENT}/24` },
    other: { address: `${PXE_SUBNET}.3/24` },
  });
  t.after(() => network.remove());
  // The fault: the server's kernel refuses to send to the client, so the ERROR answer to its
  // request fails on the listening socket.
  await refuseSendsTo(network, "server", CLIENT);
  const root = await tempRoot(t);
  const server = network.spawn("server", [
    ...airstrapCommand(),
    "tftp",
    "serve",
    "--root",
    root,
    "--listen",
    `${SERVER}:69`,
    "--json",
  ]);
  t.after(() => {
    server.kill("SIGKILL");
  });
  let stdout = "";
  server.stdout?.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  await waitFor(() => stdout.includes('"kind":"tftp.start"'), "the TFTP server started", 60_000);

  // A write request is refused straight from the listening socket (the server is read-only).
  const refused = await network.exec("client", [
    "curl",
    "-s",
    "--max-time",
    "3",
    "-T",
    "/etc/hostname",
    `tftp://${SERVER}/up.bin`,
  ]);
  assert.notEqual(refused.code, 0, "the client got no answer: the server's send failed");
  await waitFor(() => stdout.includes('"kind":"tftp.socket-error"'), "the socket error told as an event");
  assert.match(stdout, /"kind":"tftp.socket-error"[^\n]*"level":"warn"|"level":"warn"[^\n]*"kind":"tftp.socket-error"/);

  const served = await network.exec("other", [
    "curl",
    "-s",
    "--max-time",
    "10",
    "-o",
    "/dev/null",
    "-w",
    "%{http_code}",
    `tftp://${SERVER}/absent.bin`,
  ]);
  assert.notEqual(served.code, 0, "a missing file is still an error for everyone");
  await waitFor(
    () => (stdout.match(/"kind":"tftp\.refused"/g) ?? []).length >= 2,
    "the other client's request was answered (refused as not found) after the error",
  );
});
