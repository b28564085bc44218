import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { isIP } from "node:net";
import { join } from "node:path";
import { runCommand } from "../exec.js";

export interface ClusterCa {
  certPem: string;
  keyPem: string;
}

export interface ServingCert {
  certPem: string;
  keyPem: string;
}

async function openssl(args: string[]): Promise<void> {
  await runCommand(["openssl", ...args]);
}

/** SIMULATION: the cluster CA, made once by the initialising server and handed to joining servers. */
export async function createClusterCa(dir: string): Promise<ClusterCa> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const key = join(dir, "server-ca.key");
  const cert = join(dir, "server-ca.crt");
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
    "/CN=airstrap-lab-simulated-server-ca",
    "-keyout",
    key,
    "-out",
    cert,
  ]);
  await chmod(key, 0o600);
  return { certPem: await readFile(cert, "utf8"), keyPem: await readFile(key, "utf8") };
}

/** A serving certificate for this server, signed by the cluster CA, valid for every name it is reached by. */
export async function createServingCert(dir: string, ca: ClusterCa, names: string[]): Promise<ServingCert> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = (name: string) => join(dir, name);
  await writeFile(path("server-ca.crt"), ca.certPem);
  await writeFile(path("server-ca.key"), ca.keyPem, { mode: 0o600 });
  await openssl([
    "req",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-subj",
    "/CN=kube-apiserver",
    "-keyout",
    path("serving.key"),
    "-out",
    path("serving.csr"),
  ]);
  const unique = [...new Set(names.filter((name) => name !== ""))];
  const san = unique.map((name) => (isIP(name) ? `IP:${name}` : `DNS:${name}`)).join(",");
  await writeFile(path("serving.ext"), `subjectAltName=${san}\nextendedKeyUsage=serverAuth\n`);
  await openssl([
    "x509",
    "-req",
    "-in",
    path("serving.csr"),
    "-CA",
    path("server-ca.crt"),
    "-CAkey",
    path("server-ca.key"),
    "-CAcreateserial",
    "-days",
    "3650",
    "-extfile",
    path("serving.ext"),
    "-out",
    path("serving.crt"),
  ]);
  await chmod(path("serving.key"), 0o600);
  return { certPem: await readFile(path("serving.crt"), "utf8"), keyPem: await readFile(path("serving.key"), "utf8") };
}
