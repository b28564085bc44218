import { OperatorError } from "../errors.js";
import { registerSecret } from "../secrets.js";
import { shellQuote } from "./shell.js";

/** Where a sudo password comes from when a host asks for one (which host and user, for a prompt): resolved at most once per host. */
export type SudoPasswordSource = (asker?: { host: string; user: string }) => Promise<string | undefined>;

export interface CapturedRun {
  code: number;
  stdout: Buffer;
  stderr: Buffer;
}

export interface SudoCommand {
  command: string;
  /** Bytes to put before the caller's own stdin (the password line), if any. */
  stdinPrefix?: Buffer;
}

/**
 * Runs commands as root through sudo. The first use asks `sudo -n true` whether a password is
 * needed; when it is, the password is checked once with `sudo -k -S` before any real command, so
 * a wrong password can never be consumed from a command's stdin. The password travels only on
 * stdin — never on a command line, in an event or in an error.
 */
export class Sudo {
  #mode: Promise<{ password?: string }> | undefined;

  constructor(
    private readonly label: string,
    private readonly user: string,
    private readonly run: (command: string, stdin?: Buffer) => Promise<CapturedRun>,
    private readonly passwordSource: SudoPasswordSource,
  ) {}

  async wrap(command: string): Promise<SudoCommand> {
    this.#mode ??= this.#probe();
    // A failed probe (no password, wrong password) is reported to every caller, then asked again next time.
    const mode = await this.#mode.catch((error: unknown) => {
      this.#mode = undefined;
      throw error;
    });
    const inner = `sh -c ${shellQuote(command)}`;
    if (mode.password === undefined) return { command: `sudo -n -- ${inner}` };
    return { command: `sudo -k -S -p '' -- ${inner}`, stdinPrefix: Buffer.from(`${mode.password}\n`) };
  }

  async #probe(): Promise<{ password?: string }> {
    // sudo's own messages in English, whatever the host's locale, so they can be recognised.
    const free = await this.run("LC_ALL=C sudo -n true");
    if (free.code === 0) return {};
    const reason = firstLine(free.stderr);
    if (!/password is required/i.test(reason))
      throw new OperatorError(
        `host ${this.label}: sudo is not usable for user ${this.user}: ${reason || `exit ${free.code}`}`,
        {
          hint: `install sudo and allow ${this.user} to use it (sudoers), or connect as root (spec.ssh.user)`,
        },
      );
    const password = registerSecret(await this.passwordSource({ host: this.label, user: this.user }));
    if (password === undefined || password === "")
      throw new OperatorError(`host ${this.label}: sudo asks user ${this.user} for a password and none was given`, {
        hint: "set AIRSTRAP_SUDO_PASSWORD, run from a terminal to be prompted, or allow NOPASSWD for this user in sudoers",
      });
    const check = await this.run("sudo -k -S -p '' -- true", Buffer.from(`${password}\n`));
    if (check.code !== 0)
      throw new OperatorError(`host ${this.label}: sudo rejected the password for user ${this.user}`, {
        hint: "check the password given in AIRSTRAP_SUDO_PASSWORD (or at the prompt)",
      });
    return { password };
  }
}

function firstLine(text: Buffer): string {
  return (
    text
      .toString("utf8")
      .split("\n")
      .map((line) => line.trim())
      .find((line) => line !== "" && !/unable to resolve host/i.test(line)) ?? ""
  );
}

/** Remembers the answer of a password source, so a prompt appears once for all hosts that need it. */
export function memoizedPassword(source: SudoPasswordSource): SudoPasswordSource {
  let answer: Promise<string | undefined> | undefined;
  return (asker) => {
    answer ??= source(asker);
    return answer;
  };
}
