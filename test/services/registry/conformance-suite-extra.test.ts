// The request sequences of the distribution-spec conformance suite (v1.1 and the rewritten one)
// that the other conformance files did not cover: referrers before and without their subject,
// referrers of an unknown digest, many referrers with annotations, unusual manifests, the tag
// list after deletes, Location on every final upload PUT, Docker-Content-Digest on blob HEAD.
import assert from "node:assert/strict";
import { test } from "node:test";
import { type Client, client, imageManifest, pushBlob, sha, testRegistry } from "./harness.js";

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
const EMPTY_CONFIG = "{}";

async function putManifest(http: Client, repo: string, reference: string, body: string, type = OCI_MANIFEST) {
  const res = await http(`/v2/${repo}/manifests/${reference}`, {
    method: "PUT",
    body,
    headers: { "Content-Type": type },
  });
  assert.equal(res.status, 201, `${reference}: ${await res.clone().text()}`);
  return { digest: sha(body), size: Buffer.byteLength(body), location: res.headers.get("location") };
}

async function referrersOf(http: Client, repo: string, digest: string) {
  const res = await http(`/v2/${repo}/referrers/${digest}`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), OCI_INDEX);
  return (await res.json()) as {
    schemaVersion: number;
    mediaType: string;
    manifests: { digest: string; mediaType: string; artifactType?: string; annotations?: Record<string, string> }[];
  };
}

/** An artifact manifest (empty config) referring to `subject`. */
async function artifact(http: Client, repo: string, subject: { digest: string; size: number }, n: number) {
  const config = { digest: await pushBlob(http, repo, EMPTY_CONFIG), size: 2 };
  const layer = `artifact ${n}`;
  const layerDescriptor = { digest: await pushBlob(http, repo, layer), size: layer.length };
  return imageManifest(config, [layerDescriptor], {
    artifactType: `application/vnd.example.kind${n}`,
    subject: { mediaType: OCI_MANIFEST, ...subject },
    annotations: { "org.example.n": String(n) },
  });
}

test("referrers pushed before their subject, and to a subject never pushed (an index too), are listed", async (t) => {
  const { base } = await testRegistry(t);
  const http = client(base);
  const repo = "suite/referrers-early";
  const config = { digest: await pushBlob(http, repo, "subject config"), size: 14 };
  const layer = { digest: await pushBlob(http, repo, "subject layer"), size: 13 };
  const subjectManifest = imageManifest(config, [layer]);
  const subject = { digest: sha(subjectManifest), size: Buffer.byteLength(subjectManifest) };
  const early = await artifact(http, repo, subject, 1);
  const pushed = await http(`/v2/${repo}/manifests/${sha(early)}`, {
    method: "PUT",
    body: early,
    headers: { "Content-Type": OCI_MANIFEST },
  });
  assert.equal(pushed.status, 201);
  assert.equal(pushed.headers.get("oci-subject"), subject.digest);
  assert.deepEqual(
    (await referrersOf(http, repo, subject.digest)).manifests.map((m) => m.digest),
    [sha(early)],
  );
  await putManifest(http, repo, "subject", subjectManifest);
  assert.deepEqual(
    (await referrersOf(http, repo, subject.digest)).manifests.map((m) => m.digest),
    [sha(early)],
  );

  const ghost = { digest: sha("never pushed"), size: 12 };
  const index = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    artifactType: "application/vnd.example.index-referrer",
    manifests: [{ mediaType: OCI_MANIFEST, digest: subject.digest, size: subject.size }],
    subject: { mediaType: OCI_MANIFEST, ...ghost },
  });
  await putManifest(http, repo, sha(index), index, OCI_INDEX);
  const listed = await referrersOf(http, repo, ghost.digest);
  assert.deepEqual(listed.manifests, [
    {
      mediaType: OCI_INDEX,
      digest: sha(index),
      size: Buffer.byteLength(index),
      artifactType: "application/vnd.example.index-referrer",
    },
  ]);
});

test("referrers of an unknown digest: 200 with an empty image index", async (t) => {
  const { base } = await testRegistry(t);
  const http = client(base);
  await pushBlob(http, "suite/referrers-none", "something");
  const listed = await referrersOf(http, "suite/referrers-none", sha("unknown"));
  assert.deepEqual(listed, { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] });
});

test("five referrers, each listed with its artifactType and annotations", async (t) => {
  const { base } = await testRegistry(t);
  const http = client(base);
  const repo = "suite/referrers-five";
  const config = { digest: await pushBlob(http, repo, "c"), size: 1 };
  const subjectManifest = imageManifest(config, []);
  const subject = await putManifest(http, repo, "v1", subjectManifest);
  const digests: string[] = [];
  for (let n = 1; n <= 5; n++) {
    const body = await artifact(http, repo, subject, n);
    digests.push((await putManifest(http, repo, sha(body), body)).digest);
  }
  const listed = await referrersOf(http, repo, subject.digest);
  assert.deepEqual(listed.manifests.map((m) => m.digest).sort(), [...digests].sort());
  for (const entry of listed.manifests) {
    const n = digests.indexOf(entry.digest) + 1;
    assert.equal(entry.artifactType, `application/vnd.example.kind${n}`);
    assert.deepEqual(entry.annotations, { "org.example.n": String(n) });
  }
});

test("manifests without a top-level mediaType, or with layers: [] and unknown fields, are stored as pushed", async (t) => {
  const { base } = await testRegistry(t);
  const http = client(base);
  const repo = "suite/manifests";
  const config = { digest: await pushBlob(http, repo, "cfg"), size: 3 };
  const noMediaType = JSON.stringify({
    schemaVersion: 2,
    config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
    layers: [],
  });
  const unknownFields = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
    layers: [],
    "org.example.unknown": { nested: [1, 2, 3] },
  });
  for (const [tag, body] of [
    ["no-media-type", noMediaType],
    ["unknown-fields", unknownFields],
  ] as const) {
    await putManifest(http, repo, tag, body);
    const res = await http(`/v2/${repo}/manifests/${tag}`, { headers: { Accept: OCI_MANIFEST } });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), body, tag);
    assert.equal(res.headers.get("docker-content-digest"), sha(body));
  }
});

test("the tag list after deletes names only the tags left; deleting the last one empties it", async (t) => {
  const { base } = await testRegistry(t);
  const http = client(base);
  const repo = "suite/tags";
  const config = { digest: await pushBlob(http, repo, "cfg"), size: 3 };
  const first = imageManifest(config, []);
  const second = imageManifest(config, [], { annotations: { n: "2" } });
  await putManifest(http, repo, "a", first);
  await putManifest(http, repo, "b", first);
  await putManifest(http, repo, "c", second);
  assert.equal((await http(`/v2/${repo}/manifests/b`, { method: "DELETE" })).status, 202);
  const tags = async () => ((await (await http(`/v2/${repo}/tags/list`)).json()) as { tags: string[] }).tags;
  assert.deepEqual(await tags(), ["a", "c"]);
  // Deleting a manifest by digest takes its tags with it.
  assert.equal((await http(`/v2/${repo}/manifests/${sha(second)}`, { method: "DELETE" })).status, 202);
  assert.deepEqual(await tags(), ["a"]);
  assert.equal((await http(`/v2/${repo}/manifests/a`, { method: "DELETE" })).status, 202);
  assert.deepEqual(await tags(), []);
});

test("every final upload PUT answers Location; blob HEAD answers Docker-Content-Digest", async (t) => {
  const { base } = await testRegistry(t);
  const http = client(base);
  const repo = "suite/locations";
  const whole = "monolithic";
  const started = await http(`/v2/${repo}/blobs/uploads/`, { method: "POST" });
  const put = await http(`${started.headers.get("location")}?digest=${sha(whole)}`, { method: "PUT", body: whole });
  assert.equal(put.status, 201);
  assert.equal(put.headers.get("location"), `/v2/${repo}/blobs/${sha(whole)}`);

  const chunked = "first chunk, then the last one";
  const session = (await http(`/v2/${repo}/blobs/uploads/`, { method: "POST" })).headers.get("location")!;
  const patched = await http(session, {
    method: "PATCH",
    body: chunked.slice(0, 12),
    headers: { "Content-Type": "application/octet-stream", "Content-Range": "0-11" },
  });
  assert.equal(patched.status, 202);
  const last = await http(`${patched.headers.get("location")}?digest=${sha(chunked)}`, {
    method: "PUT",
    body: chunked.slice(12),
    headers: { "Content-Type": "application/octet-stream", "Content-Range": `12-${chunked.length - 1}` },
  });
  assert.equal(last.status, 201);
  assert.equal(last.headers.get("location"), `/v2/${repo}/blobs/${sha(chunked)}`);

  const single = "one POST";
  const posted = await http(`/v2/${repo}/blobs/uploads/?digest=${sha(single)}`, { method: "POST", body: single });
  assert.equal(posted.status, 201);
  assert.equal(posted.headers.get("location"), `/v2/${repo}/blobs/${sha(single)}`);

  for (const content of [whole, chunked, single]) {
    const head = await http(`/v2/${repo}/blobs/${sha(content)}`, { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get("docker-content-digest"), sha(content));
    assert.equal(head.headers.get("content-length"), String(content.length));
  }
});
