import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { stat, writeFile } from "node:fs/promises";
import { request } from "node:https";
import { join } from "node:path";
import { test } from "node:test";
import { serveConfigFromFlags } from "../../../src/cli/registry-flags.js";
import { OperatorError } from "../../../src/errors.js";
import { createAuthorizer } from "../../../src/services/registry/auth.js";
import { checkRegistryConfig } from "../../../src/services/registry/config.js";
import type { RegistryError } from "../../../src/services/registry/errors.js";
import { hasSkopeo, skopeo } from "../../peers/skopeo.js";
import { client, errorCode, pushBlob, registryConfig, tempDir, testRegistry } from "./harness.js";
import { writeOciLayout } from "./oci-image.js";
import { spawnRegistry } from "./registry-process.js";

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

async function htpasswdFile(dir: string): Promise<string> {
  const path = join(dir, "htpasswd");
  execFileSync("htpasswd", ["-B", "-b", "-c", path, "pusher", "s3cret-pass"], { stdio: "pipe" });
  return path;
}

test("pushes need htpasswd (bcrypt) credentials; anonymous loopback pulls work", async (t) => {
  const dir = await tempDir(t, "auth");
  const { base } = await testRegistry(t, {
    auth: { htpasswdFile: await htpasswdFile(dir), anonymousPullNetworks: [] },
  });
  const anonymous = client(base);
  const refused = await anonymous("/v2/auth/app/blobs/uploads/", { method: "POST" });
  assert.equal(refused.status, 401);
  assert.match(refused.headers.get("www-authenticate")!, /^Basic realm=/);
  assert.equal(await errorCode(refused), "UNAUTHORIZED");
  const wrong = client(base, { Authorization: basic("pusher", "wrong") });
  assert.equal((await wrong("/v2/auth/app/blobs/uploads/", { method: "POST" })).status, 401);
  const pusher = client(base, { Authorization: basic("pusher", "s3cret-pass") });
  const digest = await pushBlob(pusher, "auth/app", "authenticated content");
  assert.equal((await anonymous(`/v2/auth/app/blobs/${digest}`)).status, 200);
  // The ping challenges, so Docker-style clients know to send credentials...
  assert.equal((await anonymous("/v2/")).status, 401);
  assert.equal((await pusher("/v2/")).status, 200);
  // ...and a client without any (skopeo sends an empty Basic header) still pulls.
  const empty = client(base, { Authorization: basic("", "") });
  assert.equal((await empty(`/v2/auth/app/blobs/${digest}`)).status, 200);
});

test("the token works as a Bearer token and as a Basic password", async (t) => {
  const dir = await tempDir(t, "auth");
  const tokenFile = join(dir, "token");
  await writeFile(tokenFile, "0123456789abcdef0123456789abcdef\n", { mode: 0o600 });
  const { base } = await testRegistry(t, { auth: { tokenFile, anonymousPullNetworks: [] } });
  const bearer = client(base, { Authorization: "Bearer 0123456789abcdef0123456789abcdef" });
  await pushBlob(bearer, "auth/token", "bearer");
  const asPassword = client(base, { Authorization: basic("anyone", "0123456789abcdef0123456789abcdef") });
  await pushBlob(asPassword, "auth/token", "basic");
  const badBearer = await client(base, { Authorization: "Bearer nope" })("/v2/auth/token/blobs/uploads/", {
    method: "POST",
  });
  assert.equal(badBearer.status, 401);
});

test("anonymous pulls only from configured networks; pushes never anonymous from elsewhere", async () => {
  const authorizer = await createAuthorizer({ anonymousPullNetworks: ["10.77.0.0/24", "fd00:77::/64"] });
  const check = (method: string, remoteAddress: string) =>
    authorizer.check({ method, remoteAddress, authorization: undefined });
  await check("GET", "10.77.0.15");
  await check("GET", "::ffff:10.77.0.200");
  await check("HEAD", "fd00:77::5");
  await check("GET", "127.0.0.1");
  await assert.rejects(check("GET", "10.78.0.1"), (e: RegistryError) => e.code === "UNAUTHORIZED");
  await assert.rejects(check("GET", "192.168.1.10"), (e: RegistryError) => e.code === "UNAUTHORIZED");
  await assert.rejects(check("PUT", "10.77.0.15"), (e: RegistryError) => e.code === "DENIED");
  await check("PUT", "127.0.0.1");
  await assert.rejects(createAuthorizer({ anonymousPullNetworks: ["10.77.0.0/33"] }), OperatorError);
});

test("plain HTTP is refused on a non-loopback address unless asked for", async (t) => {
  const root = await tempDir(t);
  assert.throws(() => checkRegistryConfig(registryConfig(root, { listen: ["10.77.0.1:5000"] })), /not loopback/);
  assert.throws(() => checkRegistryConfig(registryConfig(root, { listen: ["0.0.0.0:5000"] })), OperatorError);
  checkRegistryConfig(registryConfig(root, { listen: ["10.77.0.1:5000"], allowPlainHttp: true }));
  checkRegistryConfig(registryConfig(root, { listen: ["[::1]:5000"] }));
});

test("--state-dir makes a site CA (0600 key) and a push token; skopeo pushes over verified TLS", async (t) => {
  const dir = await tempDir(t, "tls");
  const stateDir = join(dir, "state");
  const setup = await serveConfigFromFlags({
    root: join(dir, "store"),
    listen: ["127.0.0.1:0"],
    stateDir,
    tlsName: ["registry.edge.lan"],
    allowPullFrom: [],
    upstream: [],
    peer: [],
  });
  assert.ok(setup.caFile && setup.tokenFile && setup.config.tls);
  for (const secret of [join(stateDir, "site-ca.key"), setup.config.tls.keyFile, setup.tokenFile]) {
    assert.equal((await stat(secret)).mode & 0o777, 0o600, secret);
  }
  const again = await serveConfigFromFlags({
    root: join(dir, "store"),
    listen: ["127.0.0.1:0"],
    stateDir,
    tlsName: ["registry.edge.lan"],
    allowPullFrom: [],
    upstream: [],
    peer: [],
  });
  assert.equal((await stat(again.caFile!)).mtimeMs, (await stat(setup.caFile)).mtimeMs);
  const sans = execFileSync("openssl", ["x509", "-noout", "-ext", "subjectAltName", "-in", setup.config.tls.certFile]);
  assert.match(sans.toString(), /DNS:registry\.edge\.lan/);
  assert.match(sans.toString(), /IP Address:127\.0\.0\.1/);

  const server = await spawnRegistry(
    ["--root", join(dir, "store"), "--listen", "127.0.0.1:0", "--state-dir", stateDir],
    t,
  );
  const ca = execFileSync("cat", [setup.caFile]);
  const status = await new Promise<number>((resolve, reject) => {
    request(`https://${server.host}/v2/`, { ca }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    })
      .on("error", reject)
      .end();
  });
  assert.equal(status, 401, "the TLS handshake verified against the site CA and the ping challenged");
  if (!(await hasSkopeo())) return t.skip("skopeo is not installed");
  const certDir = join(dir, "certs");
  execFileSync("mkdir", ["-p", certDir]);
  execFileSync("cp", [setup.caFile, join(certDir, "site-ca.crt")]);
  const image = await writeOciLayout(join(dir, "image"));
  const token = execFileSync("cat", [setup.tokenFile]).toString().trim();
  await assert.rejects(
    skopeo(["copy", "--dest-cert-dir", certDir, `oci:${image.dir}:v1`, `docker://${server.host}/tls/app:v1`]),
    /401|unauthorized|authentication required/i,
  );
  await skopeo([
    "copy",
    "--dest-cert-dir",
    certDir,
    "--dest-creds",
    `airstrap:${token}`,
    `oci:${image.dir}:v1`,
    `docker://${server.host}/tls/app:v1`,
  ]);
  const noTrust = skopeo(["inspect", "--raw", `docker://${server.host}/tls/app:v1`]);
  await assert.rejects(noTrust, /certificate|x509/i);
  const raw = await skopeo(["inspect", "--cert-dir", certDir, "--raw", `docker://${server.host}/tls/app:v1`]);
  assert.equal(JSON.parse(raw).layers.length, 2);
});
