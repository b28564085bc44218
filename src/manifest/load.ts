import { access, readFile, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, isAbsolute, resolve } from "node:path";
import { OperatorError } from "../errors.js";
import type { ClusterManifest } from "./defaults.js";
import { compareDiagnostics, type Diagnostic, type Path } from "./diagnostics.js";
import { InvalidSourceError } from "./invalid-source.js";
import { stageFolderDiagnostics } from "./stage-folders.js";
import { validateManifestText } from "./validate.js";
import { valueAt } from "./zod-diagnostics.js";

export interface LoadedManifest {
  manifest: ClusterManifest;
  file: string;
  /** The folder holding the manifest: relative paths and the state dir are beside it. */
  dir: string;
  /** The exact bytes read, for hashing into bundles and plans. */
  text: string;
  warnings: Diagnostic[];
}

export class ManifestInvalidError extends InvalidSourceError {
  constructor(file: string, diagnostics: Diagnostic[], sourceText?: string) {
    super(file, diagnostics, sourceText, "fix the errors above; airstrap validate checks again");
    this.name = "ManifestInvalidError";
  }
}

export function expandPath(path: string, baseDir: string): string {
  if (path === "~" || path.startsWith("~/")) return resolve(homedir(), path.slice(2));
  return isAbsolute(path) ? path : resolve(baseDir, path);
}

/** Validates without throwing: the diagnostics, and the manifest when it is valid. */
export async function checkManifestFile(
  file: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<{ manifest?: ClusterManifest; diagnostics: Diagnostic[]; text: string }> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT")
      throw new OperatorError(`${file}: no such file`, {
        hint: "write one with: airstrap init --example, or name another with -f FILE",
      });
    if (code === "EISDIR")
      throw new OperatorError(`${file}: is a directory, not a manifest`, {
        hint: "name the cluster.yaml file with -f FILE",
      });
    throw new OperatorError(`${file}: cannot read: ${(error as Error).message}`);
  }
  const result = validateManifestText(text, file, env);
  const diagnostics = [...result.diagnostics];
  const { source, raw } = result;
  if (source && raw !== undefined) {
    const missing = (path: Path, message: string, hint: string) =>
      diagnostics.push({ severity: "error", file, ...source.positionOf(path), path: path.join("."), message, hint });
    const exists = (path: string) =>
      access(path).then(
        () => true,
        () => false,
      );
    const pxeKeyPaths = pxePublicKeyPaths(raw);
    for (const { path, value } of identityFilePaths(raw)) {
      const full = expandPath(value, dirname(resolve(file)));
      if (!(await exists(full)))
        missing(
          path,
          `identity file ${value} does not exist (${full})`,
          "create the key with ssh-keygen -t ed25519, or fix the path",
        );
      else if (pxeKeyPaths.has(path.join(".")) && !(await exists(`${full}.pub`)))
        missing(
          path,
          `${value}.pub does not exist: hosts booted over PXE are given the public key (${full}.pub)`,
          `write it from the private key: ssh-keygen -y -f ${value} > ${value}.pub`,
        );
    }
    const templatesPath = ["spec", "provisioning", "pxe", "templates"];
    const templates = valueAt(raw, templatesPath);
    if (typeof templates === "string" && templates.length > 0) {
      const full = expandPath(templates, dirname(resolve(file)));
      if (
        !(await stat(full).then(
          (s) => s.isDirectory(),
          () => false,
        ))
      )
        missing(
          templatesPath,
          `templates folder ${templates} does not exist (${full})`,
          "name a folder of template files (relative to the manifest), or leave templates out for the built-in ones",
        );
    }
  }
  diagnostics.sort(compareDiagnostics);
  // The stage folders' own files come after the manifest's findings, each file in its own order.
  if (source && raw !== undefined)
    diagnostics.push(...(await stageFolderDiagnostics(raw, file, dirname(file), source)));
  const valid = !diagnostics.some((d) => d.severity === "error");
  return { ...(valid && result.manifest ? { manifest: result.manifest } : {}), diagnostics, text };
}

/** Loads and validates; throws ManifestInvalidError (with every diagnostic) when invalid. */
export async function loadManifest(
  file: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<LoadedManifest> {
  const result = await checkManifestFile(file, env);
  if (!result.manifest) throw new ManifestInvalidError(file, result.diagnostics, result.text);
  return {
    manifest: result.manifest,
    file,
    dir: dirname(resolve(file)),
    text: result.text,
    warnings: result.diagnostics,
  };
}

/** The identity files whose public half goes into Ignition: spec.ssh's and those of hosts with a mac, when PXE is set. */
function pxePublicKeyPaths(raw: unknown): Set<string> {
  if (valueAt(raw, ["spec", "provisioning", "pxe"]) === undefined) return new Set();
  const hosts = valueAt(raw, ["spec", "hosts"]);
  const booting = Array.isArray(hosts) ? hosts.flatMap((h, i) => (valueAt(h, ["mac"]) === undefined ? [] : [i])) : [];
  return new Set(["spec.ssh.identityFile", ...booting.map((i) => `spec.hosts.${i}.ssh.identityFile`)]);
}

function identityFilePaths(raw: unknown): Array<{ path: Path; value: string }> {
  const candidates: Path[] = [
    ["spec", "ssh", "identityFile"],
    ["spec", "ssh", "bastion", "identityFile"],
  ];
  const hosts = valueAt(raw, ["spec", "hosts"]);
  if (Array.isArray(hosts)) {
    hosts.forEach((_, i) => {
      candidates.push(
        ["spec", "hosts", i, "ssh", "identityFile"],
        ["spec", "hosts", i, "ssh", "bastion", "identityFile"],
      );
    });
  }
  return candidates.flatMap((path) => {
    const value = valueAt(raw, path);
    return typeof value === "string" && value.length > 0 && !value.includes("${") ? [{ path, value }] : [];
  });
}
