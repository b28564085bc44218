import { access, constants } from "node:fs/promises";
import { delimiter, join } from "node:path";
import { OperatorError } from "../errors.js";

/** Each program the lab runs and the Debian package that provides it. */
export const LAB_PROGRAMS: Array<{ program: string; packageName: string }> = [
  { program: "debootstrap", packageName: "debootstrap" },
  { program: "systemd-nspawn", packageName: "systemd-container" },
  { program: "ip", packageName: "iproute2" },
  { program: "nsenter", packageName: "util-linux" },
  { program: "ssh-keygen", packageName: "openssh-client" },
];

export async function findProgram(program: string, path = process.env.PATH ?? ""): Promise<string | undefined> {
  const folders = [...path.split(delimiter), "/usr/sbin", "/sbin"].filter((folder) => folder !== "");
  for (const folder of folders) {
    const candidate = join(folder, program);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  return undefined;
}

/** What is missing for the lab on this machine, as one sentence each; empty when it can run. */
export async function missingPrerequisites(): Promise<{ problems: string[]; packages: string[] }> {
  const problems: string[] = [];
  const packages: string[] = [];
  if (process.platform !== "linux") problems.push("the lab needs Linux (network namespaces and systemd-nspawn)");
  if (typeof process.getuid === "function" && process.getuid() !== 0) {
    problems.push("the lab needs root: it creates a network namespace, links and containers");
  }
  for (const { program, packageName } of LAB_PROGRAMS) {
    if ((await findProgram(program)) === undefined) {
      problems.push(`${program} is not installed (Debian package ${packageName})`);
      if (!packages.includes(packageName)) packages.push(packageName);
    }
  }
  try {
    await access("/proc/self/ns/net");
  } catch {
    problems.push("this kernel has no network namespaces");
  }
  return { problems, packages };
}

export async function checkPrerequisites(): Promise<void> {
  const { problems, packages } = await missingPrerequisites();
  if (problems.length === 0) return;
  const hints: string[] = [];
  if (packages.length > 0) hints.push(`install them with: apt-get install -y ${packages.join(" ")}`);
  if (problems.some((problem) => problem.includes("root"))) hints.push("run the lab as root, e.g. sudo airstrap lab …");
  throw new OperatorError(`the lab cannot run on this machine: ${problems.join("; ")}`, {
    hint: hints.join("; ") || "run the lab on a Linux machine with network namespaces",
  });
}
