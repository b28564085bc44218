import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { createCa, issueServerCertificate } from "../../src/pki/openssl.js";
import { tempDir } from "../helpers/cli.js";

test("a server certificate chains to its CA and names every DNS name and address", async (t) => {
  const dir = await tempDir(t);
  const ca = { key: join(dir, "ca.key"), cert: join(dir, "ca.crt") };
  const server = { key: join(dir, "server.key"), cert: join(dir, "server.crt") };
  await createCa(ca, "test CA");
  await issueServerCertificate(ca, server, {
    commonName: "registry",
    names: ["k8s-server-01.edge.lan", "10.77.0.11", ""],
    days: 30,
  });
  assert.match(execFileSync("openssl", ["verify", "-CAfile", ca.cert, server.cert], { encoding: "utf8" }), /OK/);
  const text = execFileSync("openssl", ["x509", "-in", server.cert, "-noout", "-text"], { encoding: "utf8" });
  assert.match(text, /DNS:k8s-server-01\.edge\.lan, IP Address:10\.77\.0\.11/);
  assert.match(text, /TLS Web Server Authentication/);
  assert.match(execFileSync("openssl", ["x509", "-in", ca.cert, "-noout", "-text"], { encoding: "utf8" }), /CA:TRUE/);
  for (const key of [ca.key, server.key]) assert.equal((await stat(key)).mode & 0o777, 0o600);
});
