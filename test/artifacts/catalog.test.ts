import assert from "node:assert/strict";
import { test } from "node:test";
import { releaseCatalog } from "../../src/artifacts/catalog.js";
import { parseSumsFile } from "../../src/artifacts/sums.js";
import { OperatorError } from "../../src/errors.js";

test("RKE2 release files and URLs, with + sent as %2B", () => {
  const catalog = releaseCatalog({ distro: "rke2", version: "v1.31.4+rke2r1", arch: "amd64" });
  assert.deepEqual(
    catalog.files.map((f) => [f.name, f.location, f.verification]),
    [
      [
        "sha256sum-amd64.txt",
        "https://github.com/rancher/rke2/releases/download/v1.31.4%2Brke2r1/sha256sum-amd64.txt",
        "pinned",
      ],
      [
        "rke2.linux-amd64.tar.gz",
        "https://github.com/rancher/rke2/releases/download/v1.31.4%2Brke2r1/rke2.linux-amd64.tar.gz",
        "sums",
      ],
      [
        "rke2-images.linux-amd64.tar.zst",
        "https://github.com/rancher/rke2/releases/download/v1.31.4%2Brke2r1/rke2-images.linux-amd64.tar.zst",
        "sums",
      ],
      ["install.sh", "https://get.rke2.io", "pinned"],
    ],
  );
  assert.equal(catalog.sumsFile.name, "sha256sum-amd64.txt");
});

test("RKE2 with a named CNI carries the split core and CNI image tarballs instead of the combined one", () => {
  const catalog = releaseCatalog({ distro: "rke2", version: "v1.30.6+rke2r1", arch: "arm64", rke2Cni: "cilium" });
  assert.deepEqual(
    catalog.files.map((f) => f.name),
    [
      "sha256sum-arm64.txt",
      "rke2.linux-arm64.tar.gz",
      "rke2-images-core.linux-arm64.tar.zst",
      "rke2-images-cilium.linux-arm64.tar.zst",
      "install.sh",
    ],
  );
});

test("K3s release files: the binary is k3s on amd64 and k3s-arm64 on arm64", () => {
  const amd = releaseCatalog({ distro: "k3s", version: "v1.31.4+k3s1", arch: "amd64" });
  assert.deepEqual(
    amd.files.map((f) => f.location),
    [
      "https://github.com/k3s-io/k3s/releases/download/v1.31.4%2Bk3s1/sha256sum-amd64.txt",
      "https://github.com/k3s-io/k3s/releases/download/v1.31.4%2Bk3s1/k3s",
      "https://github.com/k3s-io/k3s/releases/download/v1.31.4%2Bk3s1/k3s-airgap-images-amd64.tar.zst",
      "https://get.k3s.io",
    ],
  );
  const arm = releaseCatalog({ distro: "k3s", version: "v1.31.4+k3s1", arch: "arm64" });
  assert.deepEqual(
    arm.files.map((f) => f.name),
    ["sha256sum-arm64.txt", "k3s-arm64", "k3s-airgap-images-arm64.tar.zst", "install.sh"],
  );
});

test("artifacts.source: a mirror base URL replaces the release site; a folder is resolved beside the manifest", () => {
  const mirror = releaseCatalog({
    distro: "k3s",
    version: "v1.31.4+k3s1",
    arch: "amd64",
    source: "https://mirror.lan/k3s/",
  });
  assert.equal(mirror.files[1]!.location, "https://mirror.lan/k3s/v1.31.4%2Bk3s1/k3s");
  assert.equal(mirror.files[3]!.location, "https://mirror.lan/k3s/install.sh");
  const folder = releaseCatalog({
    distro: "rke2",
    version: "v1.31.4+rke2r1",
    arch: "amd64",
    source: "./artifacts",
    baseDir: "/site",
  });
  assert.deepEqual(
    folder.files.map((f) => f.location),
    [
      "/site/artifacts/sha256sum-amd64.txt",
      "/site/artifacts/rke2.linux-amd64.tar.gz",
      "/site/artifacts/rke2-images.linux-amd64.tar.zst",
      "/site/artifacts/install.sh",
    ],
  );
});

test("a version that is not a release of the distro is refused with an example", () => {
  assert.throws(
    () => releaseCatalog({ distro: "rke2", version: "v1.31.4+k3s1", arch: "amd64" }),
    (error: unknown) => {
      assert.ok(error instanceof OperatorError);
      assert.match(error.message, /rke2 version "v1\.31\.4\+k3s1" is not a release version/);
      assert.match(error.hint ?? "", /v1\.31\.4\+rke2r1/);
      return true;
    },
  );
  assert.throws(
    () => releaseCatalog({ distro: "k3s", version: "v1.31.4+k3s1", arch: "amd64", source: "ftp://x" }),
    /unsupported scheme/,
  );
});

test("sums files: two-space and binary-mode lines, names without directories; bad lines named by line number", () => {
  const hex = "a".repeat(64);
  const sums = parseSumsFile(
    `${hex}  rke2.linux-amd64.tar.gz\n${"B".repeat(64)} *dist/artifacts/k3s\n\n`,
    "sha256sum-amd64.txt",
  );
  assert.equal(sums.get("rke2.linux-amd64.tar.gz"), `sha256:${hex}`);
  assert.equal(sums.get("k3s"), `sha256:${"b".repeat(64)}`);
  assert.throws(
    () => parseSumsFile(`${hex}  ok\nnot a line\n`, "sha256sum-amd64.txt"),
    /sha256sum-amd64\.txt:2: not a sha256sum line/,
  );
});
