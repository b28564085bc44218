import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import type { AgentAuthMethod, PublicKeyAuthMethod } from "ssh2";
import ssh2 from "ssh2";
import { OperatorError } from "../errors.js";
import { registerSecret } from "../secrets.js";

/** Where identities come from: the manifest's identityFile (relative to the manifest's folder), the agent, the defaults. */
export interface IdentitySettings {
  user: string;
  identityFile?: string;
  /** Folder relative identity file paths are resolved from (the manifest's). */
  baseDir: string;
  /** AIRSTRAP_SSH_PASSPHRASE and SSH_AUTH_SOCK are read from here. */
  env: NodeJS.ProcessEnv;
  /** What the error messages call this login ("host k8s-server-01 (10.77.0.11)"). */
  label: string;
}

export const DEFAULT_IDENTITIES = ["id_ed25519", "id_ecdsa", "id_rsa"];

/** `~` and `~/x` expand to the home folder; other relative paths are taken from baseDir. */
export function resolveIdentityPath(path: string, baseDir: string): string {
  if (path === "~") return homedir();
  if (path.startsWith("~/")) return join(homedir(), path.slice(2));
  return isAbsolute(path) ? path : resolve(baseDir, path);
}

/**
 * The authentication attempts for ssh2, in order: the configured identity file (or, without one,
 * OpenSSH's default key files that exist), then the agent. Keys are parsed here, so a missing file
 * or a wrong passphrase is reported as such instead of as a refused login.
 */
export async function authMethods(settings: IdentitySettings): Promise<Array<PublicKeyAuthMethod | AgentAuthMethod>> {
  const passphrase = registerSecret(settings.env.AIRSTRAP_SSH_PASSPHRASE);
  const methods: Array<PublicKeyAuthMethod | AgentAuthMethod> = [];
  const explicit = settings.identityFile !== undefined;
  const files = explicit
    ? [resolveIdentityPath(settings.identityFile!, settings.baseDir)]
    : DEFAULT_IDENTITIES.map((name) => join(homedir(), ".ssh", name)).filter((path) => existsSync(path));

  for (const file of files) {
    let data: Buffer;
    try {
      data = await readFile(file);
    } catch (error) {
      throw new OperatorError(
        `${settings.label}: cannot read SSH identity file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
        { hint: "check spec.ssh.identityFile (relative paths start at the manifest's folder; ~ is your home)" },
      );
    }
    const parsed = ssh2.utils.parseKey(data, passphrase);
    if (parsed instanceof Error) {
      if (!explicit) continue;
      const encrypted = /encrypted|passphrase|decrypt|bad decrypt/i.test(parsed.message);
      throw new OperatorError(
        `${settings.label}: cannot use SSH identity file ${file}: ${
          encrypted
            ? passphrase === undefined
              ? "it is protected by a passphrase"
              : "the passphrase does not open it"
            : "not a private key ssh2 can read"
        }`,
        {
          hint: encrypted
            ? "put the passphrase in the environment variable AIRSTRAP_SSH_PASSPHRASE, or load the key into ssh-agent"
            : "use an OpenSSH or PEM private key (ed25519, ecdsa or rsa)",
        },
      );
    }
    methods.push({
      type: "publickey" as const,
      username: settings.user,
      key: data,
      ...(passphrase === undefined ? {} : { passphrase }),
    });
  }

  const agent = settings.env.SSH_AUTH_SOCK;
  if (agent !== undefined && agent !== "" && existsSync(agent))
    methods.push({ type: "agent" as const, username: settings.user, agent });

  if (methods.length === 0)
    throw new OperatorError(`${settings.label}: no SSH identity to log in with`, {
      hint: "set spec.ssh.identityFile, or start ssh-agent with your key loaded (SSH_AUTH_SOCK)",
    });
  return methods;
}
