// Mirrors the distribution-spec conformance "push", "chunk ordering" and "mounts" categories.
import assert from "node:assert/strict";
import { test } from "node:test";
import { client, errorCode, imageManifest, pushBlob, pushImage, sha, tempDir, testRegistry } from "./harness.js";
import { spawnRegistry } from "./registry-process.js";

test("monolithic push: POST 202 with a unique Location, PUT ?digest= 201", async (t) => {
  const { base } = await testRegistry(t);
  const http = client(base);
  const first = await http("/v2/conformance/push/blobs/uploads/", { method: "POST" });
  const second = await http("/v2/conformance/push/blobs/uploads/", { method: "POST" });
  assert.equal(first.status, 202);
  const location = first.headers.get("location")!;
  assert.notEqual(location, second.headers.get("location"));
  assert.ok(first.headers.get("docker-upload-uuid"));
  const put = await http(`${location}?digest=${sha("monolithic")}`, { method: "PUT", body: "monolithic" });
  assert.equal(put.status, 201);
  assert.equal(put.headers.get("docker-content-digest"), sha("monolithic"));
  assert.equal(put.headers.get("location"), `/v2/conformance/push/blobs/${sha("monolithic")}`);
  assert.equal(await (await http(put.headers.get("location")!)).text(), "monolithic");
});

test("single POST with ?digest= stores the blob; a wrong digest stores nothing", async (t) => {
  const { base } = await testRegistry(t);
  const http = client(base);
  const ok = await http(`/v2/conformance/push/blobs/uploads/?digest=${sha("single")}`, {
    method: "POST",
    body: "single",
  });
  assert.equal(ok.status, 201);
  const bad = await http(`/v2/conformance/push/blobs/uploads/?digest=${sha("other")}`, {
    method: "POST",
    body: "single!",
  });
  assert.equal(bad.status, 400);
  assert.equal(await errorCode(bad), "DIGEST_INVALID");
  assert.equal((await http(`/v2/conformance/push/blobs/${sha("single!")}`, { method: "HEAD" })).status, 404);
});

test("chunked push: PATCH with Content-Range, status GET 204 + Range, last chunk on PUT", async (t) => {
  const { base } = await testRegistry(t);
  const http = client(base);
  const content = "chunk-one|chunk-two|last";
  let location = (await http("/v2/conformance/chunks/blobs/uploads/", { method: "POST" })).headers.get("location")!;
  const first = await http(location, {
    method: "PATCH",
    body: "chunk-one|",
    headers: { "Content-Range": "0-9", "Content-Type": "application/octet-stream" },
  });
  assert.equal(first.status, 202);
  assert.equal(first.headers.get("range"), "0-9");
  location = first.headers.get("location")!;
  const status = await http(location);
  assert.equal(status.status, 204);
  assert.equal(status.headers.get("range"), "0-9");
  const second = await http(location, { method: "PATCH", body: "chunk-two|", headers: { "Content-Range": "10-19" } });
  assert.equal(second.headers.get("range"), "0-19");
  const put = await http(`${second.headers.get("location")}?digest=${sha(content)}`, {
    method: "PUT",
    body: "last",
    headers: { "Content-Range": "20-23" },
  });
  assert.equal(put.status, 201);
  assert.equal(await (await http(`/v2/conformance/chunks/blobs/${sha(content)}`)).text(), content);
});

test("chunk ordering: an out-of-order chunk is 416 and leaves the upload resumable", async (t) => {
  const { base } = await testRegistry(t);
  const http = client(base);
  const location = (await http("/v2/conformance/chunks/blobs/uploads/", { method: "POST" })).headers.get("location")!;
  await http(location, { method: "PATCH", body: "abc", headers: { "Content-Range": "0-2" } });
  const skipped = await http(location, { method: "PATCH", body: "ghi", headers: { "Content-Range": "6-8" } });
  assert.equal(skipped.status, 416);
  const repeated = await http(location, { method: "PATCH", body: "abc", headers: { "Content-Range": "0-2" } });
  assert.equal(repeated.status, 416);
  assert.equal((await http(location)).headers.get("range"), "0-2");
  await http(location, { method: "PATCH", body: "def", headers: { "Content-Range": "3-5" } });
  const put = await http(`${location}?digest=${sha("abcdef")}`, { method: "PUT" });
  assert.equal(put.status, 201);
});

test("streamed PATCH without Content-Range (what skopeo and containerd send), then cancel", async (t) => {
  const { base } = await testRegistry(t);
  const http = client(base);
  const location = (await http("/v2/conformance/stream/blobs/uploads/", { method: "POST" })).headers.get("location")!;
  const empty = await http(location);
  assert.equal(empty.headers.get("range"), "0-0");
  const patched = await http(location, { method: "PATCH", body: "streamed body" });
  assert.equal(patched.status, 202);
  assert.equal(patched.headers.get("range"), "0-12");
  const cancel = await http(location, { method: "DELETE" });
  assert.equal(cancel.status, 204);
  const gone = await http(location);
  assert.equal(gone.status, 404);
  assert.equal(await errorCode(gone), "BLOB_UPLOAD_UNKNOWN");
});

test("finishing with a wrong digest is DIGEST_INVALID and publishes nothing", async (t) => {
  const { base } = await testRegistry(t);
  const http = client(base);
  const location = (await http("/v2/conformance/push/blobs/uploads/", { method: "POST" })).headers.get("location")!;
  const put = await http(`${location}?digest=${sha("expected")}`, { method: "PUT", body: "actual" });
  assert.equal(put.status, 400);
  assert.equal(await errorCode(put), "DIGEST_INVALID");
  assert.equal((await http(`/v2/conformance/push/blobs/${sha("actual")}`, { method: "HEAD" })).status, 404);
});

test("cross-repository mount: 201 from a repo that has it, 202 upload fallback otherwise", async (t) => {
  const { base } = await testRegistry(t);
  const http = client(base);
  const digest = await pushBlob(http, "conformance/source", "mount me");
  const mounted = await http(`/v2/conformance/target/blobs/uploads/?mount=${digest}&from=conformance/source`, {
    method: "POST",
  });
  assert.equal(mounted.status, 201);
  assert.equal(mounted.headers.get("location"), `/v2/conformance/target/blobs/${digest}`);
  assert.equal(await (await http(`/v2/conformance/target/blobs/${digest}`)).text(), "mount me");
  // Automatic cross-mount (on by default): without `from`, the blob is found wherever it is.
  const noFrom = await http(`/v2/conformance/other/blobs/uploads/?mount=${digest}`, { method: "POST" });
  assert.equal(noFrom.status, 201);
  const missing = await http(`/v2/conformance/target/blobs/uploads/?mount=${sha("nothing")}&from=conformance/source`, {
    method: "POST",
  });
  assert.equal(missing.status, 202);
  assert.match(missing.headers.get("location")!, /\/blobs\/uploads\//);
});

test("with automatic cross-mount off, a mount without from uploads (202), one with from still mounts", async (t) => {
  const { base } = await testRegistry(t, { automaticCrossMount: false });
  const http = client(base);
  const digest = await pushBlob(http, "conformance/source", "mount me");
  const noFrom = await http(`/v2/conformance/other/blobs/uploads/?mount=${digest}`, { method: "POST" });
  assert.equal(noFrom.status, 202);
  assert.match(noFrom.headers.get("location")!, /\/blobs\/uploads\//);
  assert.equal((await http(`/v2/conformance/other/blobs/${digest}`, { method: "HEAD" })).status, 404);
  const withFrom = await http(`/v2/conformance/other/blobs/uploads/?mount=${digest}&from=conformance/source`, {
    method: "POST",
  });
  assert.equal(withFrom.status, 201);
});

test("airstrap registry serve --no-automatic-cross-mount turns the option off", async (t) => {
  const root = await tempDir(t);
  const server = await spawnRegistry(["--root", root, "--listen", "127.0.0.1:0", "--no-automatic-cross-mount"], t);
  const http = client(server.base);
  const digest = await pushBlob(http, "conformance/source", "mount me");
  const noFrom = await http(`/v2/conformance/other/blobs/uploads/?mount=${digest}`, { method: "POST" });
  assert.equal(noFrom.status, 202);
});

test("manifest push: 201 with Location and digest; missing blobs and bad bodies refused", async (t) => {
  const { base } = await testRegistry(t);
  const http = client(base);
  const image = await pushImage(http, "conformance/manifests", "v1");
  const again = await http(`/v2/conformance/manifests/manifests/${image.digest}`, {
    method: "PUT",
    body: image.manifest,
    headers: { "Content-Type": "application/vnd.oci.image.manifest.v1+json" },
  });
  assert.equal(again.status, 201);
  assert.equal(again.headers.get("location"), `/v2/conformance/manifests/manifests/${image.digest}`);
  assert.equal(again.headers.get("docker-content-digest"), image.digest);
  const dangling = imageManifest(image.config, [{ digest: sha("never pushed"), size: 12 }]);
  const missing = await http("/v2/conformance/manifests/manifests/dangling", {
    method: "PUT",
    body: dangling,
    headers: { "Content-Type": "application/vnd.oci.image.manifest.v1+json" },
  });
  assert.equal(missing.status, 400);
  assert.equal(await errorCode(missing), "MANIFEST_BLOB_UNKNOWN");
  const garbage = await http("/v2/conformance/manifests/manifests/garbage", {
    method: "PUT",
    body: "{not json",
    headers: { "Content-Type": "application/vnd.oci.image.manifest.v1+json" },
  });
  assert.equal(garbage.status, 400);
  assert.equal(await errorCode(garbage), "MANIFEST_INVALID");
  const wrongDigest = await http(`/v2/conformance/manifests/manifests/${sha("x")}`, {
    method: "PUT",
    body: image.manifest,
    headers: { "Content-Type": "application/vnd.oci.image.manifest.v1+json" },
  });
  assert.equal(wrongDigest.status, 400);
  assert.equal(await errorCode(wrongDigest), "DIGEST_INVALID");
});

test("a 4 MiB manifest is accepted byte-exact; a larger one is 413", async (t) => {
  const { base } = await testRegistry(t);
  const http = client(base);
  const image = await pushImage(http, "conformance/big", "v1");
  const base64 = JSON.parse(image.manifest);
  const withPadding = (size: number) => {
    const skeleton = JSON.stringify({ ...base64, annotations: { pad: "" } });
    return JSON.stringify({ ...base64, annotations: { pad: "x".repeat(size - Buffer.byteLength(skeleton)) } });
  };
  const exact = withPadding(4 * 1024 * 1024);
  assert.equal(Buffer.byteLength(exact), 4 * 1024 * 1024);
  const put = await http("/v2/conformance/big/manifests/large", {
    method: "PUT",
    body: exact,
    headers: { "Content-Type": "application/vnd.oci.image.manifest.v1+json" },
  });
  assert.equal(put.status, 201);
  assert.equal(await (await http("/v2/conformance/big/manifests/large")).text(), exact);
  const tooBig = await http("/v2/conformance/big/manifests/huge", {
    method: "PUT",
    body: withPadding(4 * 1024 * 1024 + 1),
    headers: { "Content-Type": "application/vnd.oci.image.manifest.v1+json" },
  });
  assert.equal(tooBig.status, 413);
});

test("manifest PUT by digest with ?tag= sets every tag and answers OCI-Tag", async (t) => {
  const { base } = await testRegistry(t);
  const http = client(base);
  const image = await pushImage(http, "conformance/tags", "first");
  const res = await http(`/v2/conformance/tags/manifests/${image.digest}?tag=a&tag=b`, {
    method: "PUT",
    body: image.manifest,
    headers: { "Content-Type": "application/vnd.oci.image.manifest.v1+json" },
  });
  assert.equal(res.status, 201);
  assert.equal(res.headers.get("oci-tag"), "a, b");
  const list = (await (await http("/v2/conformance/tags/tags/list")).json()) as { tags: string[] };
  assert.deepEqual(list.tags, ["a", "b", "first"]);
});
