// Mirrors the distribution-spec conformance "pull" and "range reads" categories.
import assert from "node:assert/strict";
import { test } from "node:test";
import { client, errorCode, pushBlob, pushImage, sha, testRegistry } from "./harness.js";

test("GET /v2/ answers 200 with the distribution API version header", async (t) => {
  const { base } = await testRegistry(t);
  const res = await fetch(`${base}/v2/`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("docker-distribution-api-version"), "registry/2.0");
});

test("manifests pull by tag and by digest with digest, type and length headers", async (t) => {
  const { base } = await testRegistry(t);
  const http = client(base);
  const image = await pushImage(http, "conformance/pull", "v1");
  for (const reference of ["v1", image.digest]) {
    const res = await http(`/v2/conformance/pull/manifests/${reference}`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("docker-content-digest"), image.digest);
    assert.equal(res.headers.get("content-type"), "application/vnd.oci.image.manifest.v1+json");
    assert.equal(await res.text(), image.manifest);
    const head = await http(`/v2/conformance/pull/manifests/${reference}`, { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get("content-length"), String(Buffer.byteLength(image.manifest)));
    assert.equal(head.headers.get("docker-content-digest"), image.digest);
  }
});

test("GET and HEAD of a manifest named neither by a tag nor a digest answer 404, as the suite expects", async (t) => {
  const { base } = await testRegistry(t);
  const http = client(base);
  await pushImage(http, "conformance/pull", "v1");
  const get = await http("/v2/conformance/pull/manifests/.INVALID_MANIFEST_NAME");
  assert.equal(get.status, 404);
  assert.equal(await errorCode(get), "MANIFEST_UNKNOWN");
  const head = await http("/v2/conformance/pull/manifests/.INVALID_MANIFEST_NAME", { method: "HEAD" });
  assert.equal(head.status, 404);
});

test("unknown manifests, blobs and names answer 404 with their error codes", async (t) => {
  const { base } = await testRegistry(t);
  const http = client(base);
  await pushImage(http, "conformance/pull", "v1");
  const manifest = await http("/v2/conformance/pull/manifests/nope");
  assert.equal(manifest.status, 404);
  assert.equal(await errorCode(manifest), "MANIFEST_UNKNOWN");
  const blob = await http(`/v2/conformance/pull/blobs/${sha("absent")}`);
  assert.equal(blob.status, 404);
  assert.equal(await errorCode(blob), "BLOB_UNKNOWN");
  const head = await http(`/v2/conformance/pull/blobs/${sha("absent")}`, { method: "HEAD" });
  assert.equal(head.status, 404);
  const tags = await http("/v2/never/pushed/tags/list");
  assert.equal(tags.status, 404);
  assert.equal(await errorCode(tags), "NAME_UNKNOWN");
  const invalid = await http("/v2/Upper/Case/manifests/v1");
  assert.equal(invalid.status, 400);
  assert.equal(await errorCode(invalid), "NAME_INVALID");
  const badDigest = await http("/v2/conformance/pull/blobs/sha256:short");
  assert.equal(badDigest.status, 400);
  assert.equal(await errorCode(badDigest), "DIGEST_INVALID");
});

test("blobs pull whole and HEAD tells their length", async (t) => {
  const { base } = await testRegistry(t);
  const http = client(base);
  const digest = await pushBlob(http, "conformance/pull", "0123456789");
  const res = await http(`/v2/conformance/pull/blobs/${digest}`);
  assert.equal(res.status, 200);
  assert.equal(await res.text(), "0123456789");
  assert.equal(res.headers.get("docker-content-digest"), digest);
  const head = await http(`/v2/conformance/pull/blobs/${digest}`, { method: "HEAD" });
  assert.equal(head.headers.get("content-length"), "10");
  assert.equal(await head.text(), "");
});

test("range reads: 206 with Content-Range, suffixes, clamping, and 416 when unsatisfiable", async (t) => {
  const { base } = await testRegistry(t);
  const http = client(base);
  const content = Buffer.from(Array.from({ length: 2000 }, (_, i) => i % 251));
  const digest = await pushBlob(http, "conformance/range", content);
  const cases: [string, number, string | undefined, Buffer | undefined][] = [
    ["bytes=500-1499", 206, "bytes 500-1499/2000", content.subarray(500, 1500)],
    ["bytes=500-", 206, "bytes 500-1999/2000", content.subarray(500)],
    ["bytes=-500", 206, "bytes 1500-1999/2000", content.subarray(1500)],
    ["bytes=1900-5000", 206, "bytes 1900-1999/2000", content.subarray(1900)],
    ["bytes=0-0", 206, "bytes 0-0/2000", content.subarray(0, 1)],
    ["bytes=2000-", 416, "bytes */2000", undefined],
    ["bytes=1000-10", 416, "bytes */2000", undefined],
  ];
  for (const [range, status, contentRange, body] of cases) {
    const res = await http(`/v2/conformance/range/blobs/${digest}`, { headers: { Range: range } });
    assert.equal(res.status, status, range);
    assert.equal(res.headers.get("content-range"), contentRange ?? null, range);
    const bytes = Buffer.from(await res.arrayBuffer());
    if (body) assert.deepEqual(bytes, body, range);
  }
});
