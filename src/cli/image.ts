import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { Command } from "commander";
import { formatBytes } from "../artifacts/bundle/load.js";
import { buildImage, executableVersion } from "../image/build.js";
import { DEFAULT_IMAGE_REPOSITORY, imageTagFor, ociArchitecture } from "../image/image-config.js";
import { VERSION } from "../version.js";
import { out } from "./terminal.js";

const run = promisify(execFile);

/** `git …` in the current folder, or undefined outside a checkout (a release tree has no .git). */
async function git(args: string[]): Promise<string | undefined> {
  try {
    return (await run("git", args, { timeout: 10_000 })).stdout.trim() || undefined;
  } catch {
    return undefined;
  }
}

interface ImageBuildFlags {
  executable?: string;
  output: string;
  repository: string;
  tag?: string;
  imageVersion?: string;
  arch?: string;
  revision?: string;
  source?: string;
}

export function registerImage(program: Command): Command {
  const image = program.command("image").description("airstrap's own container image");
  image
    .command("build")
    .description("write airstrap's image (OCI layout + docker-archive) from the single-file executable, without Docker")
    .option("--executable <file>", "the single-file executable (default: dist/airstrap-linux-<arch>)")
    .option("-o, --output <dir>", "folder for oci/ and the docker-archive tar", "dist/image")
    .option("--repository <name>", "repository the image is named by", DEFAULT_IMAGE_REPOSITORY)
    .option("--image-version <version>", "org.opencontainers.image.version (default: what the executable reports)")
    .option("--tag <tag>", "tag (default: the version)")
    .option("--arch <arch>", "architecture: amd64, arm64 (default: this machine's)")
    .option("--revision <commit>", "org.opencontainers.image.revision (default: git HEAD, when in a checkout)")
    .option("--source <url>", "org.opencontainers.image.source (default: the git remote origin, when there is one)")
    .action(async (flags: ImageBuildFlags) => {
      const architecture = flags.arch ?? ociArchitecture(process.arch);
      const revision = flags.revision ?? (await git(["rev-parse", "HEAD"]));
      const source = flags.source ?? (await git(["remote", "get-url", "origin"]));
      const executable = flags.executable ?? `dist/airstrap-linux-${architecture}`;
      const version = flags.imageVersion ?? (await executableVersion(executable)) ?? VERSION;
      const tag = flags.tag ?? imageTagFor(version);
      const built = await buildImage({
        executable,
        out: flags.output,
        repository: flags.repository,
        tag,
        architecture,
        labels: { version, ...(revision ? { revision } : {}), ...(source ? { source } : {}) },
      });
      out(`${flags.repository}:${tag}  ${built.digest}`);
      out(`  ${built.layoutDir}  (OCI image layout)`);
      out(`  ${built.archive}  (docker-archive, ${formatBytes(built.archiveSize)})`);
      out(`  layer ${formatBytes(built.layerSize)} compressed, ${formatBytes(built.uncompressedSize)} unpacked`);
    });
  return image;
}
