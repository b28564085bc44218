// Mirrors the distribution-spec conformance "content discovery" (tags, pagination, referrers)
// and "content management" (deletes) categories.
import assert from "node:assert/strict";
import { test } from "node:test";
import { client, errorCode, pushImage, sha, testRegistry } from "./harness.js";

test("tags list in lexical order, paged with n and last and a Link to the next page", async (t) => {
  const { base } = await testRegistry(t);
  const http = client(base);
  const image = await pushImage(http, "conformance/discovery", "v1");
  for (const tag of ["v3", "v2", "latest", "V9"]) {
    await http(`/v2/conformance/discovery/manifests/${tag}`, {
      method: "PUT",
      body: image.manifest,
      headers: { "Content-Type": "application/vnd.oci.image.manifest.v1+json" },
    });
  }
  const all = await http("/v2/conformance/discovery/tags/list");
  assert.deepEqual(await all.json(), { name: "conformance/discovery", tags: ["V9", "latest", "v1", "v2", "v3"] });
  const first = await http("/v2/conformance/discovery/tags/list?n=2");
  assert.deepEqual(((await first.json()) as { tags: string[] }).tags, ["V9", "latest"]);
  const link = first.headers.get("link")!;
  assert.match(link, /^<\/v2\/conformance\/discovery\/tags\/list\?n=2&last=latest>; rel="next"$/);
  const next = await http(link.slice(1, link.indexOf(">")));
  assert.deepEqual(((await next.json()) as { tags: string[] }).tags, ["v1", "v2"]);
  const last = await http("/v2/conformance/discovery/tags/list?n=2&last=v2");
  assert.deepEqual(((await last.json()) as { tags: string[] }).tags, ["v3"]);
  assert.equal(last.headers.get("link"), null);
  const none = await http("/v2/conformance/discovery/tags/list?n=0");
  assert.deepEqual(((await none.json()) as { tags: string[] }).tags, []);
});

test("the catalog lists repositories with the same paging", async (t) => {
  const { base } = await testRegistry(t);
  const http = client(base);
  for (const repo of ["b/two", "a/one", "c"]) await pushImage(http, repo, "v1");
  assert.deepEqual(await (await http("/v2/_catalog")).json(), { repositories: ["a/one", "b/two", "c"] });
  const page = await http("/v2/_catalog?n=1&last=a/one");
  assert.deepEqual(await page.json(), { repositories: ["b/two"] });
  assert.ok(page.headers.get("link"));
});

test("referrers: an index of manifests whose subject matches, filterable by artifactType", async (t) => {
  const { base } = await testRegistry(t);
  const http = client(base);
  const subject = await pushImage(http, "conformance/referrers", "v1");
  const subjectDescriptor = {
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    digest: subject.digest,
    size: Buffer.byteLength(subject.manifest),
  };
  const empty = await http(`/v2/conformance/referrers/referrers/${subject.digest}`);
  assert.equal(empty.status, 200);
  assert.deepEqual(((await empty.json()) as { manifests: unknown[] }).manifests, []);
  const signature = await pushImage(http, "conformance/referrers", "sig", "signature bytes", {
    artifactType: "application/vnd.example.signature",
    subject: subjectDescriptor,
    annotations: { "org.opencontainers.image.created": "2026-01-01T00:00:00Z" },
  });
  const sbom = await pushImage(http, "conformance/referrers", "sbom", "sbom bytes", { subject: subjectDescriptor });
  // pushImage tags, so put them again by digest to check OCI-Subject on the response.
  const res = await http(`/v2/conformance/referrers/manifests/${signature.digest}`, {
    method: "PUT",
    body: signature.manifest,
    headers: { "Content-Type": "application/vnd.oci.image.manifest.v1+json" },
  });
  assert.equal(res.headers.get("oci-subject"), subject.digest);
  const all = await http(`/v2/conformance/referrers/referrers/${subject.digest}`);
  assert.equal(all.headers.get("content-type"), "application/vnd.oci.image.index.v1+json");
  const index = (await all.json()) as { mediaType: string; manifests: { digest: string; artifactType?: string }[] };
  assert.equal(index.mediaType, "application/vnd.oci.image.index.v1+json");
  assert.deepEqual(index.manifests.map((m) => m.digest).sort(), [signature.digest, sbom.digest].sort());
  const fallback = index.manifests.find((m) => m.digest === sbom.digest)!;
  assert.equal(fallback.artifactType, "application/vnd.oci.image.config.v1+json");
  const filtered = await http(
    `/v2/conformance/referrers/referrers/${subject.digest}?artifactType=application/vnd.example.signature`,
  );
  assert.equal(filtered.headers.get("oci-filters-applied"), "artifactType");
  const only = (await filtered.json()) as { manifests: { digest: string; annotations?: object }[] };
  assert.deepEqual(
    only.manifests.map((m) => m.digest),
    [signature.digest],
  );
  assert.deepEqual(only.manifests[0]!.annotations, { "org.opencontainers.image.created": "2026-01-01T00:00:00Z" });
  const bad = await http("/v2/conformance/referrers/referrers/sha256:nothex");
  assert.equal(bad.status, 400);
});

test("content management: delete a tag, a manifest and a blob", async (t) => {
  const { base } = await testRegistry(t);
  const http = client(base);
  const image = await pushImage(http, "conformance/delete", "v1");
  await pushImage(http, "conformance/delete", "v2", "another layer");
  const tag = await http("/v2/conformance/delete/manifests/v2", { method: "DELETE" });
  assert.equal(tag.status, 202);
  assert.equal((await http("/v2/conformance/delete/manifests/v2")).status, 404);
  const manifest = await http(`/v2/conformance/delete/manifests/${image.digest}`, { method: "DELETE" });
  assert.equal(manifest.status, 202);
  const gone = await http("/v2/conformance/delete/manifests/v1");
  assert.equal(gone.status, 404);
  assert.equal(await errorCode(gone), "MANIFEST_UNKNOWN");
  const again = await http(`/v2/conformance/delete/manifests/${image.digest}`, { method: "DELETE" });
  assert.equal(again.status, 404);
  const blob = await http(`/v2/conformance/delete/blobs/${image.layer.digest}`, { method: "DELETE" });
  assert.equal(blob.status, 202);
  assert.equal((await http(`/v2/conformance/delete/blobs/${image.layer.digest}`)).status, 404);
  const unknown = await http(`/v2/conformance/delete/blobs/${sha("never")}`, { method: "DELETE" });
  assert.equal(unknown.status, 404);
  assert.equal(await errorCode(unknown), "BLOB_UNKNOWN");
});

test("Docker schema 2 manifests and manifest lists are stored with their own media types", async (t) => {
  const { base } = await testRegistry(t);
  const http = client(base);
  const oci = await pushImage(http, "conformance/docker", "oci");
  const docker = JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.docker.distribution.manifest.v2+json",
    config: { mediaType: "application/vnd.docker.container.image.v1+json", ...oci.config },
    layers: [{ mediaType: "application/vnd.docker.image.rootfs.diff.tar.gzip", ...oci.layer }],
  });
  const put = await http("/v2/conformance/docker/manifests/docker", {
    method: "PUT",
    body: docker,
    headers: { "Content-Type": "application/vnd.docker.distribution.manifest.v2+json" },
  });
  assert.equal(put.status, 201);
  const list = JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.docker.distribution.manifest.list.v2+json",
    manifests: [
      {
        mediaType: "application/vnd.docker.distribution.manifest.v2+json",
        digest: sha(docker),
        size: Buffer.byteLength(docker),
        platform: { architecture: "amd64", os: "linux" },
      },
    ],
  });
  const putList = await http("/v2/conformance/docker/manifests/multi", {
    method: "PUT",
    body: list,
    headers: { "Content-Type": "application/vnd.docker.distribution.manifest.list.v2+json" },
  });
  assert.equal(putList.status, 201);
  const got = await http("/v2/conformance/docker/manifests/multi");
  assert.equal(got.headers.get("content-type"), "application/vnd.docker.distribution.manifest.list.v2+json");
  assert.equal(await got.text(), list);
  const danglingList = list.replace(sha(docker).slice(7), sha("missing").slice(7));
  const refused = await http("/v2/conformance/docker/manifests/broken", {
    method: "PUT",
    body: danglingList,
    headers: { "Content-Type": "application/vnd.docker.distribution.manifest.list.v2+json" },
  });
  assert.equal(refused.status, 400);
});

test("containerd's ?ns= picks the namespaced repository when the store has one", async (t) => {
  const { base } = await testRegistry(t);
  const http = client(base);
  const namespaced = await pushImage(http, "docker.io/library/app", "v1", "namespaced");
  const plain = await pushImage(http, "library/app", "v1", "plain");
  const viaNs = await http("/v2/library/app/manifests/v1?ns=docker.io");
  assert.equal(viaNs.headers.get("docker-content-digest"), namespaced.digest);
  assert.equal(viaNs.headers.get("oci-namespace"), "docker.io");
  const other = await http("/v2/library/app/manifests/v1?ns=quay.io");
  assert.equal(other.headers.get("docker-content-digest"), plain.digest);
  const blob = await http(`/v2/library/app/blobs/${namespaced.layer.digest}?ns=docker.io`);
  assert.equal(await blob.text(), "namespaced");
});
