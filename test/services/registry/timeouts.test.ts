import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readdirSync } from "node:fs";
import { get } from "node:http";
import { connect, type Socket } from "node:net";
import test from "node:test";
import { client, pushBlob, testRegistry } from "./harness.js";

/**
 * A stalled client must not hold a socket, a file handle or a transfer slot forever: every phase
 * of a connection times out (headers, body progress, response taken), while a fresh client is
 * served throughout. The timeouts are short here; the counts and waits are bounded.
 */

const STALLED = { halfHeaders: 800, stoppedPatch: 800, unreadGet: 400 };
const BLOB_BYTES = 8 * 1024 * 1024;
/** Only stalls count, so the wait for all of them is long and still bounded. */
const DROP_DEADLINE_MS = 60_000;

const openFds = () => readdirSync("/proc/self/fd").length;

test("2,000 stalled clients are dropped by the timeouts, a fresh client is served meanwhile, file handles return", async (t) => {
  const { base, registry } = await testRegistry(t, { headersTimeoutMs: 1_000, idleTimeoutMs: 1_000 });
  const http = client(base);
  const blob = await pushBlob(http, "stall/test", randomBytes(BLOB_BYTES));
  const [host, port] = [registry.addresses[0]!.split(":")[0]!, Number(registry.addresses[0]!.split(":")[1])];
  const uploads: string[] = [];
  for (let i = 0; i < STALLED.stoppedPatch; i++) {
    const res = await http("/v2/stall/test/blobs/uploads/", { method: "POST" });
    assert.equal(res.status, 202);
    uploads.push(res.headers.get("location")!);
  }
  const baseline = openFds();

  // Each client from its own loopback address: the registry's per-client body slots would
  // otherwise queue the GETs behind each other (and a queued request is not a stalled one).
  let clients = 0;
  const stalled: Array<Promise<void>> = [];
  const sockets: Socket[] = [];
  const readers: Socket[] = [];
  const open = (first: string | Buffer, pause: boolean) =>
    new Promise<void>((resolve, reject) => {
      clients += 1;
      const localAddress = `127.77.${clients >> 8}.${clients & 255}`;
      // One whole exchange first proves the server accepted the connection (a connection still
      // in the kernel's accept queue is no client of the registry yet), then the stalled request.
      const socket = connect({ host, port, localAddress }, () => socket.write("GET /v2/ HTTP/1.1\r\nHost: r\r\n\r\n"));
      let answer = "";
      const onData = (chunk: Buffer) => {
        answer += chunk.toString("latin1");
        if (!answer.endsWith("\r\n\r\n{}")) return;
        socket.off("data", onData);
        if (pause) socket.pause();
        else socket.on("data", () => undefined);
        socket.write(first);
        resolve();
      };
      socket.on("data", onData);
      socket.once("error", reject);
      socket.on("error", () => undefined);
      sockets.push(socket);
      // A reader that never reads does not see the server's close (it waits behind the unread
      // bytes); those are checked below, from the descriptors the server releases.
      if (pause) readers.push(socket);
      else stalled.push(new Promise<void>((closed) => socket.once("close", () => closed())));
    });
  const requests: Array<[string | Buffer, boolean]> = [
    ...Array.from({ length: STALLED.halfHeaders }, (): [string, boolean] => [
      "GET /v2/ HTTP/1.1\r\nHost: r\r\n",
      false,
    ]),
    ...uploads.map((location): [Buffer, boolean] => [
      Buffer.concat([
        Buffer.from(
          `PATCH ${new URL(location, base).pathname}${new URL(location, base).search} HTTP/1.1\r\nHost: r\r\n` +
            "Content-Type: application/octet-stream\r\nContent-Length: 1048576\r\n\r\n",
        ),
        randomBytes(64 * 1024),
      ]),
      false,
    ]),
    ...Array.from({ length: STALLED.unreadGet }, (): [string, boolean] => [
      `GET /v2/stall/test/blobs/${blob} HTTP/1.1\r\nHost: r\r\n\r\n`,
      true,
    ]),
  ];
  for (let i = 0; i < requests.length; i += 100) {
    await Promise.all(requests.slice(i, i + 100).map(([first, pause]) => open(first, pause)));
  }
  async function droppedWhileOthersServed() {
    let served = 0;
    let writersDropped = false;
    void Promise.all(stalled).then(() => {
      writersDropped = true;
    });
    // Once the writers are gone, what stays open is the readers' own sockets (one descriptor each)
    // and, until the server drops them, its side of each reader's connection and the blob file.
    const readersDropped = () => writersDropped && openFds() <= baseline + readers.length;
    const deadline = Date.now() + DROP_DEADLINE_MS;
    while (!readersDropped() && Date.now() < deadline) {
      assert.equal(await freshStatus(host, port), 200, "a fresh client is served while the stalled ones wait");
      served += 1;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const writersOpen = sockets.filter((socket) => !socket.destroyed && !readers.includes(socket)).length;
    assert.equal(writersOpen, 0, `stalled writers still connected after ${DROP_DEADLINE_MS} ms`);
    assert.ok(
      readersDropped(),
      `open descriptors ${openFds()}: the server still holds unread GETs after ${DROP_DEADLINE_MS} ms`,
    );
    assert.ok(served > 0);
    assert.equal(await freshStatus(host, port), 200);

    // A dropped reader that reads now gets the bytes already on the way, then the end: never the whole blob.
    const received = await Promise.all(readers.map(readToEnd));
    assert.ok(
      received.every((bytes) => bytes < BLOB_BYTES),
      "every unread GET was cut, none served to the end",
    );
  }

  assert.equal(sockets.length, 2_000);
  try {
    await droppedWhileOthersServed();
  } finally {
    // Before the registry closes (which waits for connections in flight), whatever happened.
    for (const socket of sockets) socket.destroy();
  }

  // Sockets, blob files and upload files of the dropped clients are all released.
  let fds = openFds();
  for (let i = 0; i < 100 && fds > baseline; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    fds = openFds();
  }
  assert.ok(fds <= baseline, `open file descriptors: ${fds}, before the stalled clients: ${baseline}`);
});

function readToEnd(socket: Socket): Promise<number> {
  return new Promise((resolve) => {
    let bytes = 0;
    socket.on("data", (chunk: Buffer) => {
      bytes += chunk.length;
    });
    socket.once("close", () => resolve(bytes));
    socket.resume();
  });
}

function freshStatus(host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = get({ host, port, path: "/v2/", agent: false, headers: { Connection: "close" } }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
  });
}
