import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createCa, issueServerCertificate } from "../../pki/openssl.js";

export interface ClusterCa {
  certPem: string;
  keyPem: string;
}

export interface ServingCert {
  certPem: string;
  keyPem: string;
}

/** SIMULATION: the cluster CA, made once by the initialising server and handed to joining servers. */
export async function createClusterCa(dir: string): Promise<ClusterCa> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const files = { key: join(dir, "server-ca.key"), cert: join(dir, "server-ca.crt") };
  await createCa(files, "airstrap-lab-simulated-server-ca");
  return { certPem: await readFile(files.cert, "utf8"), keyPem: await readFile(files.key, "utf8") };
}

/** A serving certificate for this server, signed by the cluster CA, valid for every name it is reached by. */
export async function createServingCert(dir: string, ca: ClusterCa, names: string[]): Promise<ServingCert> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const caFiles = { key: join(dir, "server-ca.key"), cert: join(dir, "server-ca.crt") };
  await writeFile(caFiles.cert, ca.certPem);
  await writeFile(caFiles.key, ca.keyPem, { mode: 0o600 });
  const serving = { key: join(dir, "serving.key"), cert: join(dir, "serving.crt") };
  await issueServerCertificate(caFiles, serving, { commonName: "kube-apiserver", names, days: 3650 });
  return { certPem: await readFile(serving.cert, "utf8"), keyPem: await readFile(serving.key, "utf8") };
}
