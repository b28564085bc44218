import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { appendFileSync, chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { notOnThisMachine } from "../helpers/skip.js";

/**
 * A real OpenSSH server (Debian openssh-server) on a loopback address and a free high port, with its
 * own host key and an authorized client key, both generated into a temp dir. `-D -e`: it stays in
 * the foreground and logs to stderr, which the test reads (connection counts, forwarded channels).
 */
export interface Sshd {
  address: string;
  port: number;
  dir: string;
  /** Private key authorized for every user (AuthorizedKeysFile is this one file). */
  clientKey: string;
  hostKeyFile: string;
  /** Everything sshd logged so far. */
  log(): string;
  /** Count of successful logins ("Accepted publickey") since start. */
  logins(): number;
  /** PIDs of the per-connection sshd processes (children and grandchildren of the listener). */
  sessionPids(): number[];
  /** Authorizes one more public key (a file written by ssh-keygen) for every user. */
  authorize(publicKeyFile: string): void;
  /** Stops sshd and starts it again on the same address and port, optionally with a new host key. */
  restart(options?: { newHostKey?: boolean }): Promise<void>;
  stop(): Promise<void>;
}

export interface SshdOptions {
  address?: string;
  /** Extra sshd_config lines (e.g. "PermitOpen 127.0.0.2:2222"). */
  config?: string[];
  /** Reuse this client key (e.g. the bastion and the target trust the same key). */
  clientKey?: string;
}

export function sshdAvailable(): string | undefined {
  try {
    execFileSync("/usr/sbin/sshd", ["-V"], { stdio: "pipe" });
  } catch (error) {
    const out = String((error as { stderr?: Buffer }).stderr ?? "");
    if (!/OpenSSH/.test(out)) return "/usr/sbin/sshd (Debian openssh-server) is not installed";
  }
  if (process.getuid?.() !== 0) return notOnThisMachine("sshd needs to run as root to log users in");
  return undefined;
}

export async function startSshd(options: SshdOptions = {}): Promise<Sshd> {
  const address = options.address ?? "127.0.0.1";
  const dir = await mkdtemp(join(tmpdir(), "airstrap-sshd-"));
  mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  const hostKeyFile = join(dir, "ssh_host_ed25519_key");
  const newHostKey = () => {
    rmSync(hostKeyFile, { force: true });
    rmSync(`${hostKeyFile}.pub`, { force: true });
    keygen(hostKeyFile, "airstrap-test-host");
  };
  newHostKey();
  let clientKey = options.clientKey;
  if (clientKey === undefined) {
    clientKey = join(dir, "client_key");
    keygen(clientKey, "airstrap-test-client");
  }
  // Non-root users log in too: sshd reads their authorized keys with their privileges.
  chmodSync(dir, 0o755);
  writeFileSync(join(dir, "authorized_keys"), readFileSync(`${clientKey}.pub`), { mode: 0o644 });
  const port = await freePort(address);
  const configFile = join(dir, "sshd_config");
  writeFileSync(
    configFile,
    [
      // sshd takes the first value of a keyword, so the test's own lines come first.
      ...(options.config ?? []),
      `ListenAddress ${address}:${port}`,
      `HostKey ${hostKeyFile}`,
      `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
      "PidFile none",
      "UsePAM no",
      "StrictModes no",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "PubkeyAuthentication yes",
      "PermitRootLogin prohibit-password",
      "AllowTcpForwarding no",
      "LogLevel VERBOSE",
      "Subsystem sftp internal-sftp",
      // Debian's bash sources ~/.bashrc for commands run by sshd when SHLVL says it is the top shell;
      // this machine's root .bashrc runs `pyenv rehash` under a lock file, which a test that kills a
      // session mid-rehash would leave behind. The tests are about the transport, not that file.
      "SetEnv SHLVL=1",
      "",
    ].join("\n"),
  );

  let output = "";
  let child: ChildProcess | undefined;
  const start = async () => {
    const started = spawn("/usr/sbin/sshd", ["-D", "-e", "-f", configFile], { stdio: ["ignore", "ignore", "pipe"] });
    child = started;
    const logStart = output.length;
    started.stderr!.on("data", (chunk: Buffer) => {
      output += chunk.toString("utf8");
    });
    const deadline = Date.now() + 10_000;
    while (!output.slice(logStart).includes(`Server listening on ${address} port ${port}`)) {
      if (started.exitCode !== null) throw new Error(`sshd exited: ${output}`);
      if (Date.now() > deadline) throw new Error(`sshd did not start: ${output}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  const stopChild = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    for (const pid of descendants(running.pid!)) kill(pid);
    const exited = new Promise((resolve) => running.once("exit", resolve));
    running.kill("SIGTERM");
    await exited;
  };
  await start();

  return {
    address,
    port,
    dir,
    clientKey,
    hostKeyFile,
    log: () => output,
    authorize: (publicKeyFile) => appendFileSync(join(dir, "authorized_keys"), readFileSync(publicKeyFile)),
    logins: () => (output.match(/Accepted publickey for /g) ?? []).length,
    sessionPids: () => (child?.pid === undefined ? [] : descendants(child.pid)),
    async restart(restartOptions = {}) {
      await stopChild();
      if (restartOptions.newHostKey) newHostKey();
      await start();
    },
    async stop() {
      await stopChild();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export function keygen(path: string, comment: string, passphrase = ""): void {
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", passphrase, "-C", comment, "-f", path], { stdio: "pipe" });
}

/** `ssh-keygen -lf` of a public key file: "256 SHA256:… comment (ED25519)". */
export function fingerprintOf(publicKeyFile: string): string {
  return execFileSync("ssh-keygen", ["-lf", publicKeyFile], { encoding: "utf8" }).trim();
}

/** `ssh-keyscan [-H] -p port address` output: known_hosts lines as OpenSSH writes them. */
export function keyscan(address: string, port: number, hashed = false): string {
  return execFileSync("ssh-keyscan", [...(hashed ? ["-H"] : []), "-p", String(port), address], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
    timeout: 15_000,
  });
}

function descendants(root: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parents.set(Number(entry), ppid);
    } catch {
      // the process ended while we looked
    }
  }
  const found: number[] = [];
  const walk = (pid: number) => {
    for (const [child, parent] of parents)
      if (parent === pid) {
        found.push(child);
        walk(child);
      }
  };
  walk(root);
  return found;
}

function kill(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // already gone
  }
}

function freePort(address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, address, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
