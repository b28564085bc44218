import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { silentEvents } from "../../src/events.js";
import { fetchOnHost, partPathFor } from "../../src/install/fetch-on-host.js";
import { RelayPlan, relayTree } from "../../src/install/relay.js";
import type { PlannedHost } from "../../src/plan/types.js";
import { FileStalled, followFile } from "../../src/services/files/follow-file.js";
import { startFileServer } from "../../src/services/files/service.js";
import { localPhaseContext, localPlannedHost } from "../helpers/local-phase.js";

const dir = mkdtempSync(join(tmpdir(), "airstrap-relay-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const content = Buffer.alloc(2 * 1024 * 1024 + 5);
for (let i = 0; i < content.length; i++) content[i] = (i * 13 + (i >> 9)) & 0xff;
const sha = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");
const goodSha = sha(content);

const host = localPlannedHost;
const ctx = localPhaseContext;

test("the relay tree: the bootstrap machine serves `fanout` hosts, each host at most `fanout` more", () => {
  const hosts = Array.from({ length: 12 }, (_, i) => `h${i + 1}`);
  const tree = relayTree(hosts, 2);
  assert.deepEqual(
    hosts.map((h) => tree.get(h) ?? "bootstrap"),
    ["bootstrap", "bootstrap", "h1", "h1", "h2", "h2", "h3", "h3", "h4", "h4", "h5", "h5"],
  );
  assert.deepEqual(
    [...relayTree(["a", "b", "c"], 1)].map(([h, p]) => `${p ?? "bootstrap"}→${h}`),
    ["bootstrap→a", "a→b", "b→c"],
  );
});

test("a host waits for its parent's relay, and fetches from the bootstrap machine when it does not come up", async () => {
  const plan = new RelayPlan(
    ["a", "b", "c", "d"].map((name) => ({ name }) as PlannedHost),
    8078,
  );
  assert.deepEqual(plan.children("a"), ["c", "d"]);
  assert.equal(plan.parentOf("c"), "a");
  assert.equal(await plan.parentUp("a"), false, "the bootstrap machine's children have no relay to wait for");
  const waiting = plan.parentUp("c");
  plan.settle("a", true);
  assert.equal(await waiting, true);
  plan.settle("b", false);
  assert.equal(await plan.parentUp("d", 5), true);
  const never = new RelayPlan([{ name: "x" }, { name: "y" }, { name: "z" }] as PlannedHost[], 8078);
  assert.equal(await never.parentUp("z", 20), false);
  assert.deepEqual([...plan.running], ["a"]);
});

test("followFile passes bytes on as they land, keeps reading across the rename, and gives up on a stall", async () => {
  const path = join(dir, "follow", "file");
  mkdirSync(join(dir, "follow"));
  const partPath = partPathFor(path, goodSha);
  const chunks: Buffer[] = [];
  const reading = (async () => {
    for await (const chunk of followFile({ path, partPath, size: content.length }, 0, content.length - 1, {
      stallMs: 2000,
      pollMs: 5,
    }))
      chunks.push(chunk);
  })();
  // The reader starts before the part file exists, then sees it grow in four steps and be renamed.
  for (let i = 0; i < 4; i++) {
    await new Promise((r) => setTimeout(r, 30));
    // Halfway the file moves to its final name: the reader's open handle follows it.
    if (i === 2) renameSync(partPath, path);
    appendFileSync(i < 2 ? partPath : path, content.subarray((i * content.length) / 4, ((i + 1) * content.length) / 4));
  }
  await reading;
  assert.equal(sha(Buffer.concat(chunks)), goodSha);

  const stuck = join(dir, "follow", "stuck");
  writeFileSync(partPathFor(stuck, goodSha), content.subarray(0, 1000));
  await assert.rejects(
    (async () => {
      for await (const _ of followFile(
        { path: stuck, partPath: partPathFor(stuck, goodSha), size: content.length },
        0,
        content.length - 1,
        { stallMs: 50, pollMs: 5 },
      ));
    })(),
    FileStalled,
  );
});

/**
 * Two hosts on loopback, with the real script, curl and servers: A fetches from the bootstrap
 * server (throttled, so B starts while A is still downloading) and relays; B fetches through A's
 * relay. The bootstrap machine sends the file once.
 */
test("a host fetches through another host's relay while that host is still downloading; the bootstrap machine sends it once", async () => {
  const source = join(dir, "source");
  writeFileSync(source, content);
  // A slow bootstrap: the file in 16 pieces, 20 ms apart.
  let bootstrapBytes = 0;
  const bootstrap = createServer(async (req, res) => {
    const start = Number(/bytes=(\d+)-/.exec(req.headers.range ?? "")?.[1] ?? 0);
    res.writeHead(start > 0 ? 206 : 200, {
      "Content-Length": String(content.length - start),
      ...(start > 0 ? { "Content-Range": `bytes ${start}-${content.length - 1}/${content.length}` } : {}),
    });
    const piece = Math.ceil(content.length / 16);
    for (let at = start; at < content.length; at += piece) {
      const slice = content.subarray(at, Math.min(content.length, at + piece));
      bootstrapBytes += slice.length;
      res.write(slice);
      await new Promise((r) => setTimeout(r, 20));
    }
    res.end();
  });
  await new Promise<void>((resolve) => bootstrap.listen(0, "127.0.0.1", resolve));
  const bootstrapUrl = `http://127.0.0.1:${(bootstrap.address() as { port: number }).port}/files/${goodSha}`;
  const pathA = join(dir, "a", "rke2-images.tar.zst");
  const relay = await startFileServer(
    {
      address: "127.0.0.1",
      port: 0,
      allowedNetworks: ["127.0.0.0/8"],
      files: [
        { sha256: goodSha, path: pathA, arriving: { size: content.length, partPath: partPathFor(pathA, goodSha) } },
      ],
    },
    silentEvents,
  );
  try {
    const relayUrl = `http://${relay.addresses[0]}/files/${goodSha}`;
    const pathB = join(dir, "b", "rke2-images.tar.zst");
    const fetchingA = fetchOnHost(ctx, host, bootstrapUrl, pathA, goodSha, 0o644);
    await new Promise((r) => setTimeout(r, 60));
    assert.deepEqual(await fetchOnHost(ctx, host, bootstrapUrl, pathB, goodSha, 0o644, [relayUrl]), {
      relayFailed: false,
    });
    await fetchingA;
    assert.equal(sha(readFileSync(pathA)), goodSha);
    assert.equal(sha(readFileSync(pathB)), goodSha);
    assert.equal(bootstrapBytes, content.length, "the bootstrap machine sent the file once");
    assert.equal(Number(/airstrap_files_bytes_served_total (\d+)/.exec(relay.metrics())?.[1]), content.length);

    // A relay whose copy is wrong, and one that is not there: the host ends up with the right bytes from the bootstrap machine.
    const pathC = join(dir, "c", "file");
    writeFileSync(pathA, Buffer.alloc(content.length, 7));
    rmSync(partPathFor(pathA, goodSha), { force: true });
    await fetchOnHost(ctx, host, bootstrapUrl, pathC, goodSha, 0o644, [relayUrl]);
    assert.equal(sha(readFileSync(pathC)), goodSha);
    const pathD = join(dir, "d", "file");
    const unreachable = await fetchOnHost(ctx, host, bootstrapUrl, pathD, goodSha, 0o644, [
      "http://127.0.0.1:9/files/x",
    ]);
    assert.equal(unreachable.relayFailed, true, "told, so the host's later files skip the relay");
    assert.equal(sha(readFileSync(pathD)), goodSha);
  } finally {
    await relay.close();
    bootstrap.closeAllConnections();
    bootstrap.close();
  }
});

test("a relay asked for a file that never starts arriving answers 404, and the host goes on to the bootstrap machine", async () => {
  const source = join(dir, "plain");
  writeFileSync(source, content);
  const bootstrap = await startFileServer(
    { address: "127.0.0.1", port: 0, allowedNetworks: ["127.0.0.0/8"], files: [{ sha256: goodSha, path: source }] },
    silentEvents,
  );
  const nowhere = join(dir, "never", "file");
  const relay = await startFileServer(
    {
      address: "127.0.0.1",
      port: 0,
      allowedNetworks: ["127.0.0.0/8"],
      stallMs: 100,
      files: [
        { sha256: goodSha, path: nowhere, arriving: { size: content.length, partPath: partPathFor(nowhere, goodSha) } },
      ],
    },
    silentEvents,
  );
  try {
    const relayUrl = `http://${relay.addresses[0]}/files/${goodSha}`;
    assert.equal((await fetch(relayUrl)).status, 404);
    const target = join(dir, "e", "file");
    await fetchOnHost(ctx, host, `http://${bootstrap.addresses[0]}/files/${goodSha}`, target, goodSha, 0o644, [
      relayUrl,
    ]);
    assert.equal(sha(readFileSync(target)), goodSha);
  } finally {
    await relay.close();
    await bootstrap.close();
  }
});
