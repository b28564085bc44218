import assert from "node:assert/strict";
import { test } from "node:test";
import { parseImageReference, registryBaseUrl } from "../../src/artifacts/image-reference.js";

test("image references: docker.io and library/ are implied, tags and digests split off", () => {
  const nginx = parseImageReference("nginx");
  assert.deepEqual(
    [nginx.registry, nginx.apiHost, nginx.path, nginx.tag, nginx.storeRepository],
    ["docker.io", "registry-1.docker.io", "library/nginx", "latest", "docker.io/library/nginx"],
  );
  const quay = parseImageReference("quay.io/cilium/cilium:v1.16.1");
  assert.deepEqual(
    [quay.registry, quay.path, quay.tag, quay.storeRepository],
    ["quay.io", "cilium/cilium", "v1.16.1", "quay.io/cilium/cilium"],
  );
  const digest = `sha256:${"a".repeat(64)}`;
  const pinned = parseImageReference(`registry.k8s.io/pause:3.10@${digest}`);
  assert.equal(pinned.tag, "3.10");
  assert.equal(pinned.digest, digest);
  const local = parseImageReference("127.0.0.1:5000/test/app:1.0");
  assert.deepEqual([local.registry, local.path, local.storeRepository], ["127.0.0.1:5000", "test/app", "test/app"]);
  assert.equal(parseImageReference("library/busybox").path, "library/busybox");
  assert.equal(parseImageReference("myorg/tool:1").storeRepository, "docker.io/myorg/tool");
});

test("bad image references are refused with the reason", () => {
  assert.throws(
    () => parseImageReference("nginx@sha256:1234"),
    /image "nginx@sha256:1234": "sha256:1234" is not a sha256 or sha512 digest/,
  );
  assert.throws(() => parseImageReference("docker.io/Library/Nginx:1"), /is not a valid repository path/);
});

test("loopback registries are spoken to over HTTP, all others over HTTPS", () => {
  assert.equal(registryBaseUrl("127.0.0.1:5000"), "http://127.0.0.1:5000");
  assert.equal(registryBaseUrl("localhost:5000"), "http://localhost:5000");
  assert.equal(registryBaseUrl("[::1]:5000"), "http://[::1]:5000");
  assert.equal(registryBaseUrl("registry-1.docker.io"), "https://registry-1.docker.io");
  assert.equal(registryBaseUrl("10.77.0.1:5000"), "https://10.77.0.1:5000");
});
