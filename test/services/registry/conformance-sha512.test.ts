// Mirrors the rewritten distribution-spec conformance suite's sha512 data ("Blobs sha512",
// "Digest Algorithm sha512", "Tag Param sha512"): the same request sequences as its sha256 ones,
// with every digest sha512 (OCI image-spec: `sha512:` and 128 lowercase hex characters).
import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { client, errorCode, imageManifest, pushBlob, pushImage, sha, sha512, testRegistry } from "./harness.js";

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX = "application/vnd.oci.image.index.v1+json";

async function expectBlob(http: ReturnType<typeof client>, repo: string, digest: string, content: string) {
  const head = await http(`/v2/${repo}/blobs/${digest}`, { method: "HEAD" });
  assert.equal(head.status, 200, `HEAD ${digest}`);
  assert.equal(head.headers.get("docker-content-digest"), digest);
  assert.equal(head.headers.get("content-length"), String(Buffer.byteLength(content)));
  const get = await http(`/v2/${repo}/blobs/${digest}`);
  assert.equal(get.status, 200);
  assert.equal(get.headers.get("docker-content-digest"), digest);
  assert.equal(await get.text(), content);
}

test("sha512 blobs: post only, post+put, chunked (with the last chunk on PUT), stream; HEAD, GET, range, DELETE", async (t) => {
  const { base, root } = await testRegistry(t);
  const http = client(base);
  const repo = "conformance/sha512";

  const postOnly = "post only sha512 blob";
  const single = await http(`/v2/${repo}/blobs/uploads/?digest=${sha512(postOnly)}`, {
    method: "POST",
    body: postOnly,
  });
  assert.equal(single.status, 201, await single.clone().text());
  assert.equal(single.headers.get("docker-content-digest"), sha512(postOnly));
  assert.equal(single.headers.get("location"), `/v2/${repo}/blobs/${sha512(postOnly)}`);
  await expectBlob(http, repo, sha512(postOnly), postOnly);

  const postPut = "post then put sha512 blob";
  const started = await http(`/v2/${repo}/blobs/uploads/`, { method: "POST" });
  assert.equal(started.status, 202);
  const put = await http(`${started.headers.get("location")}?digest=${sha512(postPut)}`, {
    method: "PUT",
    body: postPut,
  });
  assert.equal(put.status, 201);
  assert.equal(put.headers.get("location"), `/v2/${repo}/blobs/${sha512(postPut)}`);
  await expectBlob(http, repo, sha512(postPut), postPut);

  const chunked = "first chunk|second chunk|last chunk";
  let location = (await http(`/v2/${repo}/blobs/uploads/`, { method: "POST" })).headers.get("location")!;
  const first = await http(location, { method: "PATCH", body: "first chunk|", headers: { "Content-Range": "0-11" } });
  assert.equal(first.status, 202);
  location = first.headers.get("location")!;
  const second = await http(location, {
    method: "PATCH",
    body: "second chunk|",
    headers: { "Content-Range": "12-24" },
  });
  assert.equal(second.headers.get("range"), "0-24");
  const last = await http(`${second.headers.get("location")}?digest=${sha512(chunked)}`, {
    method: "PUT",
    body: "last chunk",
    headers: { "Content-Range": "25-34" },
  });
  assert.equal(last.status, 201, await last.clone().text());
  await expectBlob(http, repo, sha512(chunked), chunked);

  const streamed = "streamed sha512 body";
  const stream = (await http(`/v2/${repo}/blobs/uploads/`, { method: "POST" })).headers.get("location")!;
  const patched = await http(stream, { method: "PATCH", body: streamed });
  assert.equal(patched.status, 202);
  const closed = await http(`${patched.headers.get("location")}?digest=${sha512(streamed)}`, { method: "PUT" });
  assert.equal(closed.status, 201);
  await expectBlob(http, repo, sha512(streamed), streamed);

  const range = await http(`/v2/${repo}/blobs/${sha512(postOnly)}`, { headers: { Range: "bytes=5-8" } });
  assert.equal(range.status, 206);
  assert.equal(range.headers.get("content-range"), `bytes 5-8/${postOnly.length}`);
  assert.equal(await range.text(), postOnly.slice(5, 9));

  // The store keeps them as an OCI image layout does: blobs/sha512/<hex>.
  const stored = await readdir(join(root, "blobs", "sha512"));
  for (const content of [postOnly, postPut, chunked, streamed]) assert.ok(stored.includes(sha512(content).slice(7)));

  const deleted = await http(`/v2/${repo}/blobs/${sha512(postOnly)}`, { method: "DELETE" });
  assert.equal(deleted.status, 202);
  assert.equal(deleted.headers.get("docker-content-digest"), sha512(postOnly));
  assert.equal((await http(`/v2/${repo}/blobs/${sha512(postOnly)}`, { method: "HEAD" })).status, 404);
});

test("a chunked sha512 push may announce its algorithm up front (?digest-algorithm=sha512)", async (t) => {
  const { base, root } = await testRegistry(t);
  const http = client(base);
  const repo = "conformance/sha512";
  const content = "announced sha512 upload";
  const started = await http(`/v2/${repo}/blobs/uploads/?digest-algorithm=sha512`, { method: "POST" });
  assert.equal(started.status, 202);
  const patched = await http(started.headers.get("location")!, { method: "PATCH", body: content });
  const closed = await http(`${patched.headers.get("location")}?digest=${sha512(content)}`, { method: "PUT" });
  assert.equal(closed.status, 201);
  assert.deepEqual(await readdir(join(root, "blobs", "sha512")), [sha512(content).slice(7)]);
  // Naming sha512 up front and finishing with sha256 still verifies (the bytes are hashed again).
  const other = "announced sha512, finished sha256";
  const mixed = await http(`/v2/${repo}/blobs/uploads/?digest-algorithm=sha512`, { method: "POST" });
  const mixedPatch = await http(mixed.headers.get("location")!, { method: "PATCH", body: other });
  const mixedPut = await http(`${mixedPatch.headers.get("location")}?digest=${sha(other)}`, { method: "PUT" });
  assert.equal(mixedPut.status, 201);
  await expectBlob(http, repo, sha(other), other);

  const unknown = await http(`/v2/${repo}/blobs/uploads/?digest-algorithm=md5`, { method: "POST" });
  assert.equal(unknown.status, 400);
  assert.equal(await errorCode(unknown), "DIGEST_INVALID");
});

test("a sha512 body that does not match its digest is DIGEST_INVALID and leaves no blob and no session", async (t) => {
  const { base, root } = await testRegistry(t);
  const http = client(base);
  const repo = "conformance/sha512";
  const expected = "the blob the client meant";
  const corrupt = `${expected}oh no`;
  const postOnly = await http(`/v2/${repo}/blobs/uploads/?digest=${sha512(expected)}`, {
    method: "POST",
    body: corrupt,
  });
  assert.equal(postOnly.status, 400);
  assert.equal(await errorCode(postOnly), "DIGEST_INVALID");
  const location = (await http(`/v2/${repo}/blobs/uploads/`, { method: "POST" })).headers.get("location")!;
  await http(location, { method: "PATCH", body: corrupt.slice(0, 10), headers: { "Content-Range": "0-9" } });
  const chunked = await http(`${location}?digest=${sha512(expected)}`, {
    method: "PUT",
    body: corrupt.slice(10),
    headers: { "Content-Range": `10-${corrupt.length - 1}` },
  });
  assert.equal(chunked.status, 400);
  assert.equal(await errorCode(chunked), "DIGEST_INVALID");
  for (const digest of [sha512(expected), sha512(corrupt)]) {
    assert.equal((await http(`/v2/${repo}/blobs/${digest}`, { method: "HEAD" })).status, 404);
  }
  assert.deepEqual(await readdir(join(root, "blobs", "sha512")), []);
  assert.deepEqual(await readdir(join(root, "uploads")), []);
});

test("malformed sha512 digests (wrong length, uppercase) are 400 DIGEST_INVALID on every endpoint", async (t) => {
  const { base } = await testRegistry(t);
  const http = client(base);
  const repo = "conformance/sha512";
  const hex = sha512("x").slice(7);
  const malformed = [
    `sha512:${hex.slice(1)}`,
    `sha512:${hex}0`,
    `sha512:${hex.toUpperCase()}`,
    `sha512:${hex.slice(64)}`,
  ];
  const location = (await http(`/v2/${repo}/blobs/uploads/`, { method: "POST" })).headers.get("location")!;
  for (const digest of malformed) {
    const requests: [string, RequestInit][] = [
      [`/v2/${repo}/blobs/${digest}`, { method: "HEAD" }],
      [`/v2/${repo}/blobs/${digest}`, { method: "GET" }],
      [`/v2/${repo}/blobs/${digest}`, { method: "DELETE" }],
      [`/v2/${repo}/blobs/uploads/?digest=${digest}`, { method: "POST", body: "x" }],
      [`${location}?digest=${digest}`, { method: "PUT", body: "x" }],
      [`/v2/${repo}/manifests/${digest}`, { method: "GET" }],
      [`/v2/${repo}/manifests/${digest}`, { method: "PUT", body: "{}", headers: { "Content-Type": OCI_MANIFEST } }],
      [`/v2/${repo}/referrers/${digest}`, { method: "GET" }],
    ];
    for (const [path, init] of requests) {
      const res = await http(path, init);
      assert.equal(res.status, 400, `${init.method} ${path}`);
      if (init.method !== "HEAD") {
        const body = (await res.json()) as { errors: { code: string; message: string }[] };
        assert.equal(body.errors[0]!.code, "DIGEST_INVALID", `${init.method} ${path}`);
        assert.match(body.errors[0]!.message, /sha512: and 128/);
      }
    }
  }
});

test("manifests by sha512 digest: PUT, GET, HEAD, ?tag= tags that answer sha512, DELETE", async (t) => {
  const { base } = await testRegistry(t);
  const http = client(base);
  const repo = "conformance/sha512-manifests";
  const image = await pushImage(http, repo, "v1", "sha512 layer", {}, "sha512");
  assert.match(image.digest, /^sha512:[a-f0-9]{128}$/);

  const get = await http(`/v2/${repo}/manifests/${image.digest}`, { headers: { Accept: OCI_MANIFEST } });
  assert.equal(get.status, 200);
  assert.equal(get.headers.get("docker-content-digest"), image.digest);
  assert.equal(await get.text(), image.manifest);
  const head = await http(`/v2/${repo}/manifests/${image.digest}`, { method: "HEAD" });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get("content-length"), String(Buffer.byteLength(image.manifest)));
  // Pushed with ?tag=, the tag resolves to the sha512 digest the client named.
  const byTag = await http(`/v2/${repo}/manifests/v1`, { method: "HEAD" });
  assert.equal(byTag.headers.get("docker-content-digest"), image.digest);
  // The registry knows a manifest by the digest it was pushed with, not by every digest of its bytes.
  assert.equal((await http(`/v2/${repo}/manifests/${sha(image.manifest)}`, { method: "HEAD" })).status, 404);

  // An index of sha512 manifests, pushed by digest with two tags.
  const index = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: [
      {
        mediaType: OCI_MANIFEST,
        digest: image.digest,
        size: Buffer.byteLength(image.manifest),
        platform: { os: "linux", architecture: "amd64" },
      },
    ],
  });
  const indexPut = await http(`/v2/${repo}/manifests/${sha512(index)}?tag=multi&tag=latest`, {
    method: "PUT",
    body: index,
    headers: { "Content-Type": OCI_INDEX },
  });
  assert.equal(indexPut.status, 201, await indexPut.clone().text());
  assert.equal(indexPut.headers.get("docker-content-digest"), sha512(index));
  assert.equal(indexPut.headers.get("location"), `/v2/${repo}/manifests/${sha512(index)}`);
  assert.equal(indexPut.headers.get("oci-tag"), "multi, latest");
  const latest = await http(`/v2/${repo}/manifests/latest`);
  assert.equal(latest.headers.get("docker-content-digest"), sha512(index));
  assert.equal(await latest.text(), index);
  const tags = (await (await http(`/v2/${repo}/tags/list`)).json()) as { tags: string[] };
  assert.deepEqual(tags.tags, ["latest", "multi", "v1"]);

  const wrong = await http(`/v2/${repo}/manifests/${sha512("not this manifest")}`, {
    method: "PUT",
    body: image.manifest,
    headers: { "Content-Type": OCI_MANIFEST },
  });
  assert.equal(wrong.status, 400);
  assert.equal(await errorCode(wrong), "DIGEST_INVALID");

  assert.equal((await http(`/v2/${repo}/manifests/${sha512(index)}`, { method: "DELETE" })).status, 202);
  assert.equal((await http(`/v2/${repo}/manifests/${sha512(index)}`)).status, 404);
  assert.equal((await http(`/v2/${repo}/manifests/latest`)).status, 404);
  const after = (await (await http(`/v2/${repo}/tags/list`)).json()) as { tags: string[] };
  assert.deepEqual(after.tags, ["v1"]);
});

test("a manifest pushed by tag is known by its canonical sha256, even when its blobs are sha512", async (t) => {
  const { base } = await testRegistry(t);
  const http = client(base);
  const repo = "conformance/sha512-by-tag";
  const config = "{}";
  const layer = "layer";
  const manifest = imageManifest({ digest: await pushBlob(http, repo, config, "sha512"), size: 2 }, [
    { digest: await pushBlob(http, repo, layer, "sha512"), size: 5 },
  ]);
  const put = await http(`/v2/${repo}/manifests/tagged`, {
    method: "PUT",
    body: manifest,
    headers: { "Content-Type": OCI_MANIFEST },
  });
  assert.equal(put.status, 201);
  assert.equal(put.headers.get("docker-content-digest"), sha(manifest));
  assert.equal((await http(`/v2/${repo}/manifests/${sha(manifest)}`)).status, 200);
});

test("referrers of a sha512 subject list sha512 referrers, with the artifactType filter", async (t) => {
  const { base } = await testRegistry(t);
  const http = client(base);
  const repo = "conformance/sha512-referrers";
  const subject = await pushImage(http, repo, "v1", "subject layer", {}, "sha512");
  const subjectDescriptor = {
    mediaType: OCI_MANIFEST,
    digest: subject.digest,
    size: Buffer.byteLength(subject.manifest),
  };
  const emptyConfig = { digest: await pushBlob(http, repo, "{}", "sha512"), size: 2 };
  const referrer = (artifactType: string) =>
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType,
      config: { mediaType: "application/vnd.oci.empty.v1+json", ...emptyConfig },
      layers: [],
      subject: subjectDescriptor,
      annotations: { kind: artifactType },
    });
  const signature = referrer("application/vnd.example.signature");
  const sbom = referrer("application/vnd.example.sbom");
  for (const body of [signature, sbom]) {
    const res = await http(`/v2/${repo}/manifests/${sha512(body)}`, {
      method: "PUT",
      body,
      headers: { "Content-Type": OCI_MANIFEST },
    });
    assert.equal(res.status, 201, await res.clone().text());
    assert.equal(res.headers.get("oci-subject"), subject.digest);
  }
  const all = await http(`/v2/${repo}/referrers/${subject.digest}`);
  assert.equal(all.status, 200);
  assert.equal(all.headers.get("content-type"), OCI_INDEX);
  const listed = ((await all.json()) as { manifests: { digest: string; artifactType: string }[] }).manifests;
  assert.deepEqual(listed.map((m) => m.digest).sort(), [sha512(signature), sha512(sbom)].sort());
  const filtered = await http(`/v2/${repo}/referrers/${subject.digest}?artifactType=application/vnd.example.sbom`);
  assert.equal(filtered.headers.get("oci-filters-applied"), "artifactType");
  const only = ((await filtered.json()) as { manifests: { digest: string }[] }).manifests;
  assert.deepEqual(
    only.map((m) => m.digest),
    [sha512(sbom)],
  );
  // Of a sha512 subject never pushed: an empty index.
  const none = await http(`/v2/${repo}/referrers/${sha512("never pushed")}`);
  assert.equal(none.status, 200);
  assert.deepEqual(((await none.json()) as { manifests: unknown[] }).manifests, []);
});

test("cross-repository mount of a sha512 blob: 201 with from, 201 automatic, 202 when missing", async (t) => {
  const { base } = await testRegistry(t);
  const http = client(base);
  const digest = await pushBlob(http, "conformance/source", "mount me, sha512", "sha512");
  const mounted = await http(`/v2/conformance/target/blobs/uploads/?mount=${digest}&from=conformance/source`, {
    method: "POST",
  });
  assert.equal(mounted.status, 201);
  assert.equal(mounted.headers.get("location"), `/v2/conformance/target/blobs/${digest}`);
  assert.equal(mounted.headers.get("docker-content-digest"), digest);
  await expectBlob(http, "conformance/target", digest, "mount me, sha512");
  const automatic = await http(`/v2/conformance/other/blobs/uploads/?mount=${digest}`, { method: "POST" });
  assert.equal(automatic.status, 201);
  const missing = await http(
    `/v2/conformance/target/blobs/uploads/?mount=${sha512("nothing")}&from=conformance/source`,
    { method: "POST" },
  );
  assert.equal(missing.status, 202);
});
