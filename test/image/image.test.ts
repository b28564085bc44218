import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { chown, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import bcrypt from "bcryptjs";
import { type BuiltImage, buildImage } from "../../src/image/build.js";
import { ociArchitecture } from "../../src/image/image-config.js";
import { IMAGE_EXECUTABLE, IMAGE_USER } from "../../src/image/rootfs.js";
import { writeHostsDir } from "../../src/services/registry/transfer.js";
import { openBlobStore } from "../../src/store/blob-store.js";
import { importOciLayout } from "../../src/store/oci-layout.js";
import { openRepositories } from "../../src/store/repositories.js";
import { notOnThisMachine } from "../helpers/skip.js";
import { buildSingleExecutable } from "../peers/airstrap-sea.js";
import { hasContainerd, startContainerd } from "../peers/containerd.js";
import { gitClientEnv } from "../peers/git-client.js";
import { hasSkopeo, skopeo } from "../peers/skopeo.js";
import { spawnRegistry } from "../services/registry/registry-process.js";

const run = promisify(execFile);
const architecture = ociArchitecture(process.arch);
const repository = "airstrap/airstrap";
const tag = "9.9.9-test";
const labels = { version: "9.9.9-test", revision: "0123456789abcdef", source: "https://example.invalid/airstrap.git" };

let work: string;
let executable: { path: string; remove(): void };
let first: BuiltImage;
let second: BuiltImage;

before(async () => {
  work = await mkdtemp(join(tmpdir(), "airstrap-image-"));
  executable = buildSingleExecutable();
  const options = { executable: executable.path, repository, tag, labels, architecture };
  first = await buildImage({ ...options, out: join(work, "one") });
  second = await buildImage({ ...options, out: join(work, "two") });
});

after(async () => {
  executable?.remove();
  await rm(work, { recursive: true, force: true });
});

async function has(program: string, args = ["--version"]): Promise<boolean> {
  return run(program, args).then(
    () => true,
    () => false,
  );
}

test("two builds of the same executable give the same digest, byte-identical archives, and a small image", async () => {
  assert.equal(first.digest, second.digest);
  assert.deepEqual(await readFile(first.archive), await readFile(second.archive));
  const executableSize = (await stat(executable.path)).size;
  // One layer: the executable and its libraries, compressed to well under the executable's size.
  assert.ok(first.layerSize < executableSize, `layer ${first.layerSize} B vs executable ${executableSize} B`);
  console.log(
    `# image: layer ${first.layerSize} B, unpacked ${first.uncompressedSize} B, archive ${first.archiveSize} B`,
  );
});

test("skopeo inspects both outputs and copies the layout, keeping the digest and the OCI annotations", async (t) => {
  if (!(await hasSkopeo())) return t.skip("skopeo is not installed");
  const inspected = JSON.parse(await skopeo(["inspect", `oci:${first.layoutDir}:${tag}`]));
  assert.equal(inspected.Digest, first.digest);
  assert.equal(inspected.Architecture, architecture);
  assert.equal(inspected.Labels["org.opencontainers.image.version"], labels.version);
  assert.equal(inspected.Labels["org.opencontainers.image.revision"], labels.revision);
  assert.equal(inspected.Labels["org.opencontainers.image.source"], labels.source);
  const raw = JSON.parse(await skopeo(["inspect", "--raw", `oci:${first.layoutDir}:${tag}`]));
  assert.equal(raw.annotations["org.opencontainers.image.version"], labels.version);
  const archived = JSON.parse(await skopeo(["inspect", `docker-archive:${first.archive}`]));
  assert.equal(archived.Labels["org.opencontainers.image.version"], labels.version);
  assert.equal(archived.Layers.length, 1);
  const copy = join(work, "copied");
  await skopeo(["copy", `oci:${first.layoutDir}:${tag}`, `oci:${copy}:${tag}`]);
  assert.equal(JSON.parse(await skopeo(["inspect", `oci:${copy}:${tag}`])).Digest, first.digest);
});

test("umoci unpacks the layout into a root filesystem whose executable runs", async (t) => {
  if (!(await has("umoci", ["--version"]))) return t.skip("umoci is not installed");
  const bundle = join(work, "umoci");
  await run("umoci", ["unpack", "--rootless", "--image", `${first.layoutDir}:${tag}`, bundle]);
  const rootfs = join(bundle, "rootfs");
  const spec = JSON.parse(await readFile(join(bundle, "config.json"), "utf8"));
  assert.equal(spec.process.user.uid, IMAGE_USER.uid);
  assert.equal(spec.process.args[0], IMAGE_EXECUTABLE);
  assert.match(await readFile(join(rootfs, "etc/passwd"), "utf8"), /^airstrap:/m);
  // The image carries its own loader and libraries: run the executable through them, not the host's.
  const loader = (await run("ldd", [join(rootfs, IMAGE_EXECUTABLE)])).stdout.match(/^\s*(\/\S+ld-linux\S*)/m)?.[1];
  assert.ok(loader, "the executable names a loader");
  const { stdout } = await run(join(rootfs, loader), [
    "--library-path",
    join(rootfs, "lib", `${process.arch === "x64" ? "x86_64" : "aarch64"}-linux-gnu`),
    join(rootfs, IMAGE_EXECUTABLE),
    "--version",
  ]);
  assert.ok(stdout.trim().length > 0);
});

test("real containerd imports the docker-archive and runs airstrap dns with --net-host in a namespace; dig gets the answers", async (t) => {
  if (!(await hasContainerd())) return t.skip("containerd/ctr are not installed");
  if (!(await has("runc"))) return t.skip("runc is not installed");
  if (process.getuid?.() !== 0) return t.skip(notOnThisMachine("containerd and network namespaces need root"));
  const netns = `airstrap-img-${process.pid}`;
  await run("ip", ["netns", "add", netns]);
  t.after(() => run("ip", ["netns", "del", netns]).catch(() => undefined));
  await run("ip", ["netns", "exec", netns, "ip", "link", "set", "lo", "up"]);
  const containerd = await startContainerd(t, { netns });
  await containerd.ctr(["images", "import", first.archive]);
  const ref = `docker.io/${repository}:${tag}`;
  const images = await containerd.ctr(["images", "ls", "-q"]);
  assert.ok(images.split("\n").includes(ref), images);
  const id = "airstrap-dns";
  // The image's own user (not root): a port above 1024 needs no capability.
  await containerd.ctr([
    "run",
    "-d",
    "--net-host",
    ref,
    id,
    IMAGE_EXECUTABLE,
    "dns",
    "--listen",
    "127.0.0.1:1053",
    "--domain",
    "site.lan",
    "--node-name",
    "n1",
    "--node-address",
    "10.0.0.1",
    "--host",
    "n2=10.0.0.2",
    "--record",
    "registry CNAME n2.site.lan.",
    "--workers",
    "1",
  ]);
  const pid = (await containerd.ctr(["tasks", "ls"])).match(new RegExp(`^${id}\\s+(\\d+)`, "m"))?.[1];
  assert.ok(pid, "the task runs");
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  assert.match(status, new RegExp(`^Uid:\\s+${IMAGE_USER.uid}\\s`, "m"));
  let answer = "";
  // Start-up is not timed: ask until the server answers (bounded), then check what it says.
  for (let attempt = 0; attempt < 100 && answer === ""; attempt++) {
    answer = await digInNetns(netns, "n2.site.lan", "A");
    if (answer === "") await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.equal(answer, "10.0.0.2");
  assert.equal(await digInNetns(netns, "n1.site.lan", "A"), "10.0.0.1");
  assert.match(await digInNetns(netns, "registry.site.lan", "A"), /n2\.site\.lan\.\n10\.0\.0\.2/);
  // Only inside the namespace: the host's loopback has no such server.
  assert.equal(await digOnHost("n2.site.lan"), "");
});

test("airstrap git serve runs from the image under real containerd: the real git client pushes and clones through it", async (t) => {
  if (!(await hasContainerd())) return t.skip("containerd/ctr are not installed");
  if (!(await has("runc"))) return t.skip("runc is not installed");
  if (process.getuid?.() !== 0) return t.skip(notOnThisMachine("containerd and network namespaces need root"));
  const netns = `airstrap-git-${process.pid}`;
  await run("ip", ["netns", "add", netns]);
  t.after(() => run("ip", ["netns", "del", netns]).catch(() => undefined));
  await run("ip", ["netns", "exec", netns, "ip", "link", "set", "lo", "up"]);
  const containerd = await startContainerd(t, { netns });
  await containerd.ctr(["images", "import", first.archive]);
  // The state dir, as the seed's `docker run -v`: owned by the image's user, which must write it.
  const site = await mkdtemp(join(work, "git-site-"));
  await mkdir(join(site, "repos"));
  await writeFile(join(site, "htpasswd"), `operator:${bcrypt.hashSync("push-password", 4)}\n`, { mode: 0o600 });
  await writeFile(join(site, "token"), "read-token\n", { mode: 0o600 });
  for (const path of [site, join(site, "repos"), join(site, "htpasswd"), join(site, "token")])
    await chown(path, IMAGE_USER.uid, IMAGE_USER.gid);
  await containerd.ctr([
    "run",
    "-d",
    "--net-host",
    "--mount",
    `type=bind,src=${site},dst=/site,options=rbind:rw`,
    `docker.io/${repository}:${tag}`,
    "airstrap-git",
    IMAGE_EXECUTABLE,
    "git",
    "serve",
    "--root",
    "/site/repos",
    "--listen",
    "127.0.0.1:8418",
    "--htpasswd",
    "/site/htpasswd",
    "--read-token-file",
    "/site/token",
  ]);
  const inNetns = (args: string[], cwd?: string) =>
    run("ip", ["netns", "exec", netns, ...args], {
      cwd,
      timeout: 60_000,
      env: gitClientEnv(site),
    });
  let status = "";
  for (let attempt = 0; attempt < 100 && status !== "401"; attempt++) {
    status = await inNetns([
      "curl",
      "-s",
      "-o",
      "/dev/null",
      "-w",
      "%{http_code}",
      "http://127.0.0.1:8418/site.git/info/refs?service=git-upload-pack",
    ]).then(
      ({ stdout }) => stdout,
      () => "",
    );
    if (status !== "401") await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.equal(status, "401", "the server asks for credentials");
  const source = join(work, "git-source");
  await mkdir(source);
  await writeFile(join(source, "README"), "the site repository\n");
  await inNetns(["git", "init", "-q", "-b", "main"], source);
  await inNetns(["git", "add", "-A"], source);
  await inNetns(["git", "commit", "-q", "-m", "first"], source);
  const refused = await inNetns(["git", "push", "-q", "http://127.0.0.1:8418/site.git", "main"], source).then(
    () => "pushed",
    (error: { stderr?: string }) => error.stderr ?? "",
  );
  assert.notEqual(refused, "pushed", "a push without credentials is refused");
  await inNetns(["git", "push", "-q", "http://operator:push-password@127.0.0.1:8418/site.git", "main"], source);
  const clone = join(work, "git-clone");
  await inNetns(["git", "clone", "-q", "--depth", "1", "http://flux:read-token@127.0.0.1:8418/site.git", clone]);
  assert.equal(await readFile(join(clone, "README"), "utf8"), "the site repository\n");
  const head = (await inNetns(["git", "rev-parse", "HEAD"], source)).stdout.trim();
  assert.equal((await inNetns(["git", "rev-parse", "HEAD"], clone)).stdout.trim(), head);
  // The repository lives in the mounted state dir, written by the image's non-root user.
  assert.equal((await stat(join(site, "repos", "site.git", "HEAD"))).uid, IMAGE_USER.uid);
});

async function digInNetns(netns: string, name: string, type: string): Promise<string> {
  const { stdout } = await run(
    "ip",
    ["netns", "exec", netns, "dig", "@127.0.0.1", "-p", "1053", name, type, "+short", "+tries=1", "+timeout=2"],
    { timeout: 20_000 },
  ).catch(() => ({ stdout: "" }));
  return stdout.trim();
}

async function digOnHost(name: string): Promise<string> {
  const { stdout } = await run("dig", ["@127.0.0.1", "-p", "1053", name, "+short", "+tries=1", "+timeout=1"], {
    timeout: 20_000,
  }).catch(() => ({ stdout: "" }));
  return stdout.includes("10.0.0.2") ? stdout.trim() : "";
}

test("the same image, imported into the store, is pulled by real containerd through the site registry mirror config, and runs", async (t) => {
  if (!(await hasContainerd())) return t.skip("containerd/ctr are not installed");
  if (process.getuid?.() !== 0) return t.skip(notOnThisMachine("containerd needs root to run its own instance"));
  const root = join(work, "registry-store");
  // What install would push: the image under the name the DaemonSet uses (docker.io/…, mirrored).
  await importOciLayout(openRepositories(await openBlobStore(root)), first.layoutDir, {
    repository: `docker.io/${repository}`,
  });
  const stateDir = join(work, "registry-state");
  const registry = await spawnRegistry(["--root", root, "--listen", "127.0.0.1:0", "--state-dir", stateDir], t);
  const hostsDir = join(work, "certs.d");
  await writeHostsDir(hostsDir, ["docker.io"], {
    endpoints: [`https://${registry.host}`],
    caFile: join(stateDir, "site-ca.crt"),
  });
  const containerd = await startContainerd(t);
  const ref = `docker.io/${repository}:${tag}`;
  await containerd.ctr(["images", "pull", "--hosts-dir", hostsDir, "--snapshotter", "native", ref]);
  const listed = await containerd.ctr(["images", "ls"]);
  assert.match(listed, new RegExp(`${ref.replaceAll(".", "\\.")}\\s+\\S+\\s+${first.digest}`));
  const version = await containerd.ctr([
    "run",
    "--rm",
    "--snapshotter",
    "native",
    ref,
    "pulled",
    IMAGE_EXECUTABLE,
    "--version",
  ]);
  assert.ok(version.trim().length > 0);
});
