import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";

/**
 * A publisher's signing key made by the real GnuPG, shaped like Flatcar's: a certify-only
 * primary key and a separate signing subkey, so verification has to follow the subkey binding.
 */
export interface GpgSigner {
  fingerprint: string;
  armoredPublicKey: string;
  /** Writes a detached binary signature of `path` to `path.sig` (as Flatcar publishes them). */
  sign(path: string): void;
}

export function createGpgSigner(t: TestContext, name = "Test Buildbot"): GpgSigner {
  const home = mkdtempSync(join(tmpdir(), "airstrap-gpg-"));
  t.after(() => {
    execFileSync("gpgconf", ["--homedir", home, "--kill", "all"], { stdio: "ignore" });
    rmSync(home, { recursive: true, force: true });
  });
  const gpg = (args: string[]) =>
    execFileSync("gpg", ["--homedir", home, "--batch", "--quiet", "--passphrase", "", ...args], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
  gpg(["--quick-gen-key", `${name} <build@example.invalid>`, "rsa2048", "cert", "1y"]);
  const fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(gpg(["--with-colons", "--list-keys"]))![1]!;
  gpg(["--quick-add-key", fingerprint, "rsa2048", "sign", "1y"]);
  return {
    fingerprint,
    armoredPublicKey: gpg(["--armor", "--export", fingerprint]),
    sign: (path) => gpg(["--yes", "--local-user", fingerprint, "--detach-sign", "--output", `${path}.sig`, path]),
  };
}
