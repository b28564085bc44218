import { chmod, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { OperatorError } from "../../errors.js";
import { createCa, issueServerCertificate } from "../../pki/openssl.js";

/**
 * The site CA and the registry's server certificate, generated into the state dir with the
 * openssl CLI: `site-ca.crt` (what registries.yaml and hosts.toml trust), `site-ca.key` (0600,
 * never leaves the state dir), and `registry/server.{crt,key}` for the names and addresses the
 * registry answers on (`registry/<stem>.*` for other instances: the bootstrap's, each replica's). The CA
 * is made once; a server certificate is remade when its names change.
 */
export interface SiteTls {
  caFile: string;
  certFile: string;
  keyFile: string;
}

/** The site CA in the state dir (`site-ca.crt`, `site-ca.key` 0600), made once and reused. */
export async function ensureSiteCa(stateDir: string): Promise<{ caFile: string; caKey: string }> {
  await chmod(stateDir, 0o700);
  const caFile = join(stateDir, "site-ca.crt");
  const caKey = join(stateDir, "site-ca.key");
  if (!(await exists(caFile)) || !(await exists(caKey))) {
    const temp = await tempPair(stateDir, "site-ca");
    try {
      await createCa(temp, "airstrap site CA");
      await rename(temp.key, caKey);
      await rename(temp.cert, caFile);
    } finally {
      await temp.remove();
    }
  }
  return { caFile, caKey };
}

export async function ensureRegistryTls(stateDir: string, names: string[], stem = "server"): Promise<SiteTls> {
  const sans = [...new Set(names)].sort();
  if (sans.length === 0) throw new OperatorError("registry TLS: no name or address to put in the certificate");
  await mkdir(join(stateDir, "registry"), { recursive: true, mode: 0o700 });
  const { caFile, caKey } = await ensureSiteCa(stateDir);
  const certFile = join(stateDir, "registry", `${stem}.crt`);
  const keyFile = join(stateDir, "registry", `${stem}.key`);
  const sansFile = join(stateDir, "registry", `${stem}.names`);

  const wanted = sans.join("\n");
  const current = await readFile(sansFile, "utf8").catch(() => undefined);
  if (current !== wanted || !(await exists(certFile)) || !(await exists(keyFile))) {
    const temp = await tempPair(join(stateDir, "registry"), "server");
    try {
      await issueServerCertificate({ key: caKey, cert: caFile }, temp, {
        commonName: sans[0]!,
        names: sans,
        days: 825,
      });
      await rename(temp.key, keyFile);
      await rename(temp.cert, certFile);
      await writeFile(sansFile, wanted, { mode: 0o600 });
    } finally {
      await temp.remove();
    }
  }
  return { caFile, certFile, keyFile };
}

async function tempPair(dir: string, label: string) {
  const stem = join(dir, `.${label}.${process.pid}.${Date.now()}`);
  const pair = { key: `${stem}.key`, cert: `${stem}.crt` };
  return {
    ...pair,
    remove: () => Promise.all([pair.key, pair.cert].map((path) => rm(path, { force: true }))).then(() => undefined),
  };
}

async function exists(path: string): Promise<boolean> {
  return readFile(path).then(
    () => true,
    () => false,
  );
}
