/** A throwaway CA and a server certificate for loopback addresses, made with the real openssl. */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TestCertificates {
  dir: string;
  caFile: string;
  certFile: string;
  keyFile: string;
  remove(): void;
}

export function makeCertificates(ipAddresses: string[]): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), "airstrap-lb-tls-"));
  const path = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: "pipe" });
  openssl(
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-days",
    "1",
    "-subj",
    "/CN=airstrap test CA",
    "-keyout",
    path("ca.key"),
    "-out",
    path("ca.crt"),
  );
  openssl(
    "req",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-subj",
    "/CN=kube-apiserver",
    "-keyout",
    path("server.key"),
    "-out",
    path("server.csr"),
  );
  writeFileSync(
    path("san.ext"),
    `subjectAltName=${ipAddresses.map((ip) => `IP:${ip}`).join(",")},DNS:edge-cluster.edge.lan\n`,
  );
  openssl(
    "x509",
    "-req",
    "-in",
    path("server.csr"),
    "-CA",
    path("ca.crt"),
    "-CAkey",
    path("ca.key"),
    "-CAcreateserial",
    "-days",
    "1",
    "-extfile",
    path("san.ext"),
    "-out",
    path("server.crt"),
  );
  return {
    dir,
    caFile: path("ca.crt"),
    certFile: path("server.crt"),
    keyFile: path("server.key"),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
