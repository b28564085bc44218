import { execFile } from "node:child_process";
import { chmod, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { isIP } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { OperatorError } from "../../errors.js";

const run = promisify(execFile);

/**
 * The site CA and the registry's server certificate, generated into the state dir with the
 * openssl CLI: `site-ca.crt` (what registries.yaml and hosts.toml trust), `site-ca.key` (0600,
 * never leaves the state dir), and `registry/server.{crt,key}` for the names and addresses the
 * registry answers on. The CA is made once; the server certificate is remade when its names change.
 */
export interface SiteTls {
  caFile: string;
  certFile: string;
  keyFile: string;
}

export async function ensureRegistryTls(stateDir: string, names: string[]): Promise<SiteTls> {
  const sans = [...new Set(names)].sort();
  if (sans.length === 0) throw new OperatorError("registry TLS: no name or address to put in the certificate");
  await mkdir(join(stateDir, "registry"), { recursive: true, mode: 0o700 });
  await chmod(stateDir, 0o700);
  const caFile = join(stateDir, "site-ca.crt");
  const caKey = join(stateDir, "site-ca.key");
  const certFile = join(stateDir, "registry", "server.crt");
  const keyFile = join(stateDir, "registry", "server.key");
  const sansFile = join(stateDir, "registry", "server.names");

  if (!(await exists(caFile)) || !(await exists(caKey))) {
    const temp = await tempPair(stateDir, "site-ca");
    try {
      await openssl([
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "3650",
        "-subj",
        "/CN=airstrap site CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
        "-keyout",
        temp.key,
        "-out",
        temp.crt,
      ]);
      await chmod(temp.key, 0o600);
      await rename(temp.key, caKey);
      await rename(temp.crt, caFile);
    } finally {
      await temp.remove();
    }
  }

  const wanted = sans.join("\n");
  const current = await readFile(sansFile, "utf8").catch(() => undefined);
  if (current !== wanted || !(await exists(certFile)) || !(await exists(keyFile))) {
    const temp = await tempPair(join(stateDir, "registry"), "server");
    try {
      const altNames = sans.map((name) => (isIP(name) ? `IP:${name}` : `DNS:${name}`)).join(",");
      const extensions = `${temp.crt}.ext`;
      await writeFile(
        extensions,
        `subjectAltName=${altNames}\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n`,
      );
      await openssl([
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-subj",
        `/CN=${sans[0]}`,
        "-keyout",
        temp.key,
        "-out",
        `${temp.crt}.csr`,
      ]);
      await openssl([
        "x509",
        "-req",
        "-in",
        `${temp.crt}.csr`,
        "-CA",
        caFile,
        "-CAkey",
        caKey,
        "-set_serial",
        `0x${Date.now().toString(16)}`,
        "-days",
        "825",
        "-extfile",
        extensions,
        "-out",
        temp.crt,
      ]);
      await chmod(temp.key, 0o600);
      await rename(temp.key, keyFile);
      await rename(temp.crt, certFile);
      await writeFile(sansFile, wanted, { mode: 0o600 });
    } finally {
      await temp.remove();
    }
  }
  return { caFile, certFile, keyFile };
}

async function openssl(args: string[]): Promise<void> {
  try {
    await run("openssl", args, { timeout: 60_000 });
  } catch (error) {
    const failure = error as NodeJS.ErrnoException & { stderr?: string };
    if (failure.code === "ENOENT") {
      throw new OperatorError("registry TLS: the openssl command is not installed", {
        hint: "install openssl, or pass --tls-cert and --tls-key made elsewhere",
      });
    }
    throw new OperatorError(`registry TLS: openssl failed: ${failure.stderr?.trim() || failure.message}`);
  }
}

async function tempPair(dir: string, label: string) {
  const stem = join(dir, `.${label}.${process.pid}.${Date.now()}`);
  const pair = { key: `${stem}.key`, crt: `${stem}.crt` };
  return {
    ...pair,
    remove: () =>
      Promise.all(
        [pair.key, pair.crt, `${pair.crt}.csr`, `${pair.crt}.ext`].map((path) => rm(path, { force: true })),
      ).then(() => undefined),
  };
}

async function exists(path: string): Promise<boolean> {
  return readFile(path).then(
    () => true,
    () => false,
  );
}
