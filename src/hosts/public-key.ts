import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { OperatorError } from "../errors.js";
import { DEFAULT_IDENTITIES, resolveIdentityPath } from "./ssh-auth.js";

/**
 * The public half of the identity airstrap logs in with: `<identityFile>.pub`, or without an
 * identity file the first of OpenSSH's default keys that has a .pub. What a host booted over PXE
 * must trust, so that install can reach it.
 */
export async function readPublicKey(identityFile: string | undefined, baseDir: string): Promise<string> {
  const candidates = identityFile
    ? [`${resolveIdentityPath(identityFile, baseDir)}.pub`]
    : DEFAULT_IDENTITIES.map((name) => join(homedir(), ".ssh", `${name}.pub`));
  const found = candidates.find((path) => existsSync(path));
  if (!found)
    throw new OperatorError(
      `no SSH public key to put on the hosts booted over PXE (looked at ${candidates.join(", ")})`,
      {
        hint: identityFile
          ? `write it from the private key: ssh-keygen -y -f ${identityFile} > ${identityFile}.pub`
          : "set spec.ssh.identityFile, or create a key with ssh-keygen -t ed25519",
      },
    );
  const line = (await readFile(found, "utf8")).split("\n").find((l) => l.trim() !== "" && !l.startsWith("#"));
  if (!line || !/^(ssh-|ecdsa-|sk-)\S+ [A-Za-z0-9+/=]+( .*)?$/.test(line.trim()))
    throw new OperatorError(`${found}: not an OpenSSH public key`, {
      hint: "it should be one line like: ssh-ed25519 AAAA... user@host",
    });
  return line.trim();
}
