import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { writeSimRelease } from "../../../src/lab/sim-distro/release.js";
import { zstdStoredFrame } from "../../../src/lab/sim-distro/zstd-frame.js";
import { notOnThisMachine } from "../../helpers/skip.js";

const root = mkdtempSync(join(tmpdir(), "airstrap-sim-release-"));
after(() => rmSync(root, { recursive: true, force: true }));

const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

test("the rke2 release has RKE2's file names, a sums file that matches, and the real unit names inside", async () => {
  const files = await writeSimRelease(root, {
    distro: "rke2",
    version: "v1.31.4+rke2r1",
    arch: "amd64",
    mirrorBase: "http://10.0.0.1:8079/rke2",
  });
  assert.deepEqual(files, [
    "sha256sum-amd64.txt",
    "rke2.linux-amd64.tar.gz",
    "rke2-images.linux-amd64.tar.zst",
    "install.sh",
  ]);
  const dir = join(root, "rke2", "v1.31.4+rke2r1");
  const sums = readFileSync(join(dir, "sha256sum-amd64.txt"), "utf8");
  for (const name of ["rke2.linux-amd64.tar.gz", "rke2-images.linux-amd64.tar.zst"])
    assert.ok(sums.includes(`${sha256(join(dir, name))}  ${name}\n`), name);
  const listing = spawnSync("tar", ["-tzvf", join(dir, "rke2.linux-amd64.tar.gz")], { encoding: "utf8" }).stdout;
  for (const path of ["bin/rke2", "lib/systemd/system/rke2-server.service", "lib/systemd/system/rke2-agent.service"])
    assert.match(listing, new RegExp(path));
  assert.match(listing, /^-rwxr-xr-x .* bin\/rke2$/m);
  assert.equal(statSync(join(root, "rke2", "install.sh")).mode & 0o111, 0o111);
});

test("both install scripts are valid POSIX sh and say they are a simulation", async () => {
  await writeSimRelease(root, {
    distro: "k3s",
    version: "v1.31.4+k3s1",
    arch: "amd64",
    mirrorBase: "http://10.0.0.1:8079/k3s",
  });
  for (const distro of ["rke2", "k3s"]) {
    const script = join(root, distro, "install.sh");
    const check = spawnSync("sh", ["-n", script], { encoding: "utf8" });
    assert.equal(check.status, 0, check.stderr);
    assert.match(readFileSync(script, "utf8"), /SIMULATION/);
  }
  const k3s = readFileSync(join(root, "k3s", "install.sh"), "utf8");
  for (const variable of ["INSTALL_K3S_SKIP_DOWNLOAD", "INSTALL_K3S_EXEC", "K3S_URL", "K3S_TOKEN"])
    assert.ok(k3s.includes(variable), variable);
  assert.equal(
    readFileSync(join(root, "k3s", "v1.31.4+k3s1", "sha256sum-amd64.txt"), "utf8")
      .split("\n")[0]!
      .endsWith("  k3s"),
    true,
  );
});

test("install.sh with INSTALL_RKE2_ARTIFACT_PATH refuses a tarball that does not match the sums file", async (t) => {
  if (process.getuid?.() !== 0) return t.skip(notOnThisMachine("install.sh insists on root, as the real one does"));
  const dir = join(root, "rke2", "v1.31.4+rke2r1");
  const tampered = mkdtempSync(join(tmpdir(), "airstrap-sim-tampered-"));
  try {
    spawnSync("cp", [join(dir, "sha256sum-amd64.txt"), join(dir, "rke2-images.linux-amd64.tar.zst"), tampered]);
    spawnSync("sh", [
      "-c",
      `cp "$1" "$2" && printf x >> "$2"`,
      "cp",
      join(dir, "rke2.linux-amd64.tar.gz"),
      join(tampered, "rke2.linux-amd64.tar.gz"),
    ]);
    const prefix = join(tampered, "prefix");
    const run = spawnSync("sh", [join(root, "rke2", "install.sh")], {
      encoding: "utf8",
      env: {
        PATH: process.env.PATH,
        INSTALL_RKE2_ARTIFACT_PATH: tampered,
        INSTALL_RKE2_TAR_PREFIX: prefix,
        INSTALL_RKE2_AGENT_IMAGES_DIR: join(tampered, "images"),
        INSTALL_RKE2_SKIP_RELOAD: "1",
      },
    });
    assert.notEqual(run.status, 0);
    assert.match(run.stderr, /sha256 does not match/);
    assert.throws(() => statSync(join(prefix, "bin", "rke2")));
  } finally {
    rmSync(tampered, { recursive: true, force: true });
  }
});

test("the stored zstd frame decodes with the real zstd to the same bytes", (t) => {
  if (spawnSync("zstd", ["--version"]).error) return t.skip("zstd is not installed");
  for (const size of [0, 1, 128 * 1024, 128 * 1024 + 1, 300_000]) {
    const data = Buffer.alloc(size, 7);
    for (let i = 0; i < size; i += 97) data[i] = i % 251;
    const decoded = spawnSync("zstd", ["-d", "-c", "-q"], { input: zstdStoredFrame(data) });
    assert.equal(decoded.status, 0, decoded.stderr?.toString());
    assert.ok(Buffer.compare(decoded.stdout, data) === 0, `size ${size}`);
  }
});
