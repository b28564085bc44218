import { execFile, spawnSync } from "node:child_process";

function sshArguments(
  target: { address: string; port?: number; user?: string },
  identity: string,
  knownHostsFile: string,
  command: string,
): string[] {
  return [
    "-i",
    identity,
    "-p",
    String(target.port ?? 22),
    "-o",
    "BatchMode=yes",
    "-o",
    "StrictHostKeyChecking=yes",
    "-o",
    `UserKnownHostsFile=${knownHostsFile}`,
    "-o",
    "ConnectTimeout=5",
    `${target.user ?? "root"}@${target.address}`,
    command,
  ];
}

/** Runs a command on a lab host with the real OpenSSH client, pinning the host key given. */
export function sshRun(
  target: { address: string; port?: number; user?: string },
  identity: string,
  knownHostsFile: string,
  command: string,
  options: { input?: Buffer; timeoutMs?: number } = {},
): { code: number; stdout: string; stderr: string } {
  const result = spawnSync("ssh", sshArguments(target, identity, knownHostsFile, command), {
    encoding: "utf8",
    timeout: options.timeoutMs ?? 20_000,
    maxBuffer: 64 * 2 ** 20,
    ...(options.input ? { input: options.input } : {}),
  });
  return { code: result.status ?? 255, stdout: result.stdout ?? "", stderr: result.stderr ?? "" };
}

/** sshRun without blocking the event loop (for a test that serves the host from the same process). */
export function sshRunAsync(
  target: { address: string; port?: number; user?: string },
  identity: string,
  knownHostsFile: string,
  command: string,
  timeoutMs = 20_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      "ssh",
      sshArguments(target, identity, knownHostsFile, command),
      { encoding: "utf8", timeout: timeoutMs },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 255) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** The ed25519 host key a server presents, read with ssh-keyscan: "ssh-ed25519 AAAA…". */
export function scanHostKey(address: string, port = 22): string | undefined {
  const result = spawnSync("ssh-keyscan", ["-T", "5", "-t", "ed25519", "-p", String(port), address], {
    encoding: "utf8",
    timeout: 15_000,
  });
  const line = (result.stdout ?? "").split("\n").find((entry) => entry.includes("ssh-ed25519"));
  return line?.split(/\s+/).slice(1, 3).join(" ");
}
