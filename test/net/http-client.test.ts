import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { httpFetch, requestBuffer } from "../../src/net/http-client.js";

async function serve(
  t: { after(fn: () => unknown): void },
  handle: (req: IncomingMessage, res: ServerResponse) => void,
) {
  const server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => new Promise((resolve) => server.close(resolve)));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

test("redirects of a GET are followed; credentials stay with their origin", async (t) => {
  const seen: Array<string | undefined> = [];
  const target = await serve(t, (req, res) => {
    seen.push(req.headers.authorization);
    res.end("here");
  });
  const origin = await serve(t, (req, res) => {
    seen.push(req.headers.authorization);
    if (req.url === "/same") return void res.writeHead(302, { location: "/other" }).end();
    if (req.url === "/other") return void res.writeHead(307, { location: `${target}/file` }).end();
    res.writeHead(404).end();
  });
  const response = await httpFetch(`${origin}/same`, { headers: { authorization: "Bearer secret" } });
  assert.equal(response.status, 200);
  assert.equal(await response.text(), "here");
  assert.deepEqual(seen, ["Bearer secret", "Bearer secret", undefined]);
});

test("a body cut mid-way hands over every byte that arrived, then the error", async (t) => {
  const sent = 3 * 1024 * 1024 + 17;
  const base = await serve(t, (_req, res) => {
    res.writeHead(200, { "content-length": String(sent * 2) });
    res.write(Buffer.alloc(sent, 7), () => res.destroy());
  });
  const response = await httpFetch(`${base}/cut`);
  let received = 0;
  await assert.rejects(async () => {
    for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
      received += chunk.length;
      // A slow consumer: chunks queue up behind it while the connection is cut.
      await new Promise((resolve) => setImmediate(resolve));
    }
  });
  assert.equal(received, sent);
});

test("an answer over the cap is refused by name", async (t) => {
  const base = await serve(t, (_req, res) => res.end(Buffer.alloc(4096)));
  await assert.rejects(
    requestBuffer(`${base}/big`, { maxBodyBytes: 1000 }),
    /GET http:\/\/127\.0\.0\.1:\d+\/big: body larger than 1000 bytes/,
  );
  assert.equal((await requestBuffer(`${base}/big`, { maxBodyBytes: 4096 })).body.length, 4096);
});
