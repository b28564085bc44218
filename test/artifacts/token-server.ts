import { execFile } from "node:child_process";
import { createPrivateKey, randomBytes, sign, X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { promisify } from "node:util";

const run = promisify(execFile);

/**
 * A registry token service on loopback, as docker.io's auth.docker.io is: it hands out ES256
 * JWTs (with the signing certificate in x5c) granting whatever a scope asks, and records the
 * scopes asked for. docker-registry checks the tokens against the certificate bundle.
 */
export interface TokenServer {
  realm: string;
  service: string;
  issuer: string;
  rootCertBundle: string;
  scopes: string[];
}

const b64url = (data: Buffer | string) => Buffer.from(data).toString("base64url");

export async function startTokenServer(t: TestContext, dir: string): Promise<TokenServer> {
  const keyPath = join(dir, "token.key");
  const certPath = join(dir, "token.crt");
  await run("openssl", ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", keyPath]);
  await run("openssl", [
    "req",
    "-x509",
    "-new",
    "-key",
    keyPath,
    "-subj",
    "/CN=airstrap test token issuer",
    "-days",
    "1",
    "-out",
    certPath,
  ]);
  const key = createPrivateKey(await readFile(keyPath));
  const certDer = new X509Certificate(await readFile(certPath)).raw;
  const service = "airstrap-test-registry";
  const issuer = "airstrap-test-issuer";
  const scopes: string[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const scope = url.searchParams.get("scope") ?? "";
    scopes.push(scope);
    const access = scope
      .split(" ")
      .filter(Boolean)
      .map((s) => {
        const [type, name, actions] = s.split(":");
        return { type, name, actions: (actions ?? "").split(",") };
      });
    const now = Math.floor(Date.now() / 1000);
    const header = b64url(JSON.stringify({ typ: "JWT", alg: "ES256", x5c: [certDer.toString("base64")] }));
    const claims = b64url(
      JSON.stringify({
        iss: issuer,
        sub: "",
        aud: url.searchParams.get("service"),
        exp: now + 600,
        nbf: now - 60,
        iat: now,
        jti: randomBytes(8).toString("hex"),
        access,
      }),
    );
    const signature = sign("sha256", Buffer.from(`${header}.${claims}`), { key, dsaEncoding: "ieee-p1363" });
    res
      .writeHead(200, { "content-type": "application/json" })
      .end(JSON.stringify({ token: `${header}.${claims}.${b64url(signature)}` }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as { port: number };
  return { realm: `http://127.0.0.1:${port}/token`, service, issuer, rootCertBundle: certPath, scopes };
}
