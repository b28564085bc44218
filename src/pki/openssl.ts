import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { isIP } from "node:net";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { OperatorError } from "../errors.js";

const run = promisify(execFile);

/** Where a key and its certificate go (PEM; the key is made 0600). */
export interface KeyPair {
  key: string;
  cert: string;
}

const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/** A self-signed CA (P-256) for `days`, with the CA constraints clients check. */
export async function createCa(out: KeyPair, commonName: string, days = 3650): Promise<void> {
  await openssl([
    "req",
    "-x509",
    ...EC_KEY,
    "-days",
    String(days),
    "-subj",
    `/CN=${commonName}`,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
    "-keyout",
    out.key,
    "-out",
    out.cert,
  ]);
  await chmod(out.key, 0o600);
}

/** A TLS server certificate signed by `ca`, valid for every DNS name and IP address in `names`. */
export async function issueServerCertificate(
  ca: KeyPair,
  out: KeyPair,
  options: { commonName: string; names: string[]; days: number },
): Promise<void> {
  const work = await mkdtemp(join(dirname(out.cert), ".airstrap-pki-"));
  try {
    const names = [...new Set(options.names.filter((name) => name !== ""))];
    const altNames = names.map((name) => (isIP(name) ? `IP:${name}` : `DNS:${name}`)).join(",");
    await writeFile(
      join(work, "ext"),
      `subjectAltName=${altNames}\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n`,
    );
    await openssl([
      "req",
      ...EC_KEY,
      "-subj",
      `/CN=${options.commonName}`,
      "-keyout",
      out.key,
      "-out",
      join(work, "csr"),
    ]);
    await chmod(out.key, 0o600);
    await openssl([
      "x509",
      "-req",
      "-in",
      join(work, "csr"),
      "-CA",
      ca.cert,
      "-CAkey",
      ca.key,
      "-set_serial",
      `0x${randomBytes(16).toString("hex")}`,
      "-days",
      String(options.days),
      "-extfile",
      join(work, "ext"),
      "-out",
      out.cert,
    ]);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function openssl(args: string[]): Promise<void> {
  try {
    await run("openssl", args, { timeout: 60_000 });
  } catch (error) {
    const failure = error as NodeJS.ErrnoException & { stderr?: string };
    if (failure.code === "ENOENT")
      throw new OperatorError("the openssl command is not installed", { hint: "install it: apt-get install openssl" });
    throw new OperatorError(`openssl failed: ${failure.stderr?.trim() || failure.message}`);
  }
}
