import { type Command, Option } from "commander";
import { UsageError } from "../errors.js";
import { type AirstrapEvent, createEvents } from "../events.js";
import { startRegistry } from "../services/registry/service.js";
import { keepYoungGenerationSmall } from "../services/registry/storage/young-garbage.js";
import {
  collectStoreGarbage,
  type ExportFormat,
  exportImages,
  importImages,
  listImages,
  writeHostsDir,
} from "../services/registry/transfer.js";
import { type RegistryServeFlags, serveConfigFromFlags } from "./registry-flags.js";
import { registerRegistryReplicate } from "./registry-replicate.js";
import { colorsFor, err, out } from "./terminal.js";

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerRegistry(program: Command): Command {
  const registry = program.command("registry").description("the air-gap OCI image registry");
  registry
    .command("serve")
    .description("serve the store as an OCI distribution registry until interrupted")
    .option("-f, --file <file>", "cluster manifest: serve as the replica on --node")
    .option("--node <name>", "the host this replica runs on (manifest form)")
    .option("--root <dir>", "store root (blobs/, repositories/, uploads/)")
    .option("--listen <addr:port>", "listen address (repeat for more)", collect, [])
    .option("--state-dir <dir>", "site CA, server certificate and push token live here (created once)")
    .option("--tls-name <name>", "extra DNS name or address for the certificate (repeat)", collect, [])
    .option("--htpasswd <file>", "bcrypt htpasswd file; its users may push")
    .option("--token-file <file>", "file holding a push token (Bearer, or as a Basic password)")
    .option("--tls-cert <file>", "serve HTTPS with this certificate (PEM)")
    .option("--tls-key <file>", "key of --tls-cert (PEM)")
    .option("--insecure-http", "allow plain HTTP on a non-loopback address")
    .option("--allow-pull-from <cidr>", "network whose clients may pull anonymously (repeat)", collect, [])
    .option("--upstream <url>", "pull-through upstream registry (repeat; tried in order)", collect, [])
    .option("--peer <url>", "peer registry to replicate from (repeat)", collect, [])
    .option("--trust-ca <file>", "CA (PEM) that upstreams' and peers' certificates chain to")
    .option("--replicate-interval <seconds>", "how often to copy from peers (default 60)")
    .option("--replicate-rate <MiB/s>", "bandwidth replication may use (default unlimited)")
    .option("--gc-interval <hours>", "collect garbage this often while serving (default: never)")
    .option("--no-automatic-cross-mount", "a blob mount without from= uploads instead (202)")
    .action(async (flags: RegistryServeFlags) => {
      const events = createEvents();
      events.subscribe(printEvent);
      const setup = await serveConfigFromFlags(flags);
      const service = await startRegistry(setup.config, events);
      keepYoungGenerationSmall();
      err(`registry listening on ${service.addresses.join(", ")} (Ctrl-C stops)`);
      if (setup.caFile) err(`clients trust the site CA ${setup.caFile}`);
      if (setup.tokenFile) err(`push with the token in ${setup.tokenFile}`);
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off("SIGINT", stop).off("SIGTERM", stop);
          void service.close().then(resolve);
        };
        process.on("SIGINT", stop).on("SIGTERM", stop);
      });
    });
  registry
    .command("import")
    .description("import OCI layout folders, oci-archives and docker-archives into the store (digests kept)")
    .requiredOption("--root <dir>", "store root")
    .option("--repository <name>", "put the images in this repository (for archives without names)")
    .argument("<path...>", "layout folder or archive file")
    .action(async (paths: string[], flags: { root: string; repository?: string }) => {
      const results = await importImages(flags.root, paths, flags.repository ? { repository: flags.repository } : {});
      for (const result of results) {
        for (const image of result.images)
          out(`${result.path} (${result.format}) → ${image.repo}:${image.reference} ${image.digest}`);
      }
    });
  registry
    .command("export")
    .description("export images from the store as an OCI layout, oci-archive or docker-archive")
    .requiredOption("--root <dir>", "store root")
    .requiredOption("-o, --output <path>", "folder (oci) or file (archives) to create")
    .addOption(
      new Option("--format <format>", "what to write")
        .choices(["oci", "oci-archive", "docker-archive"])
        .default("oci-archive"),
    )
    .argument("<image...>", "images as REPOSITORY:TAG or REPOSITORY@DIGEST")
    .action(async (images: string[], flags: { root: string; output: string; format: ExportFormat }) => {
      const exported = await exportImages(flags.root, images, flags.format, flags.output);
      out(`wrote ${exported.length} image(s) to ${flags.output} (${flags.format})`);
    });
  registry
    .command("gc")
    .description("delete blobs and manifests no tag or referrer reaches, and stale uploads")
    .requiredOption("--root <dir>", "store root")
    .option("--grace <minutes>", "keep anything written more recently than this", "60")
    .option("--dry-run", "report what would be deleted, delete nothing")
    .action(async (flags: { root: string; grace: string; dryRun?: boolean }) => {
      const grace = Number(flags.grace);
      if (!Number.isFinite(grace) || grace < 0)
        throw new UsageError(`--grace: "${flags.grace}" is not a number of minutes`);
      const report = await collectStoreGarbage(flags.root, {
        graceMs: grace * 60_000,
        dryRun: flags.dryRun === true,
        events: createEvents(),
      });
      out(
        `${flags.dryRun ? "would remove" : "removed"} ${report.blobsRemoved} blob(s) (${report.bytesFreed} bytes), ${report.manifestsUnlinked} manifest link(s), ${report.uploadsRemoved} stale upload(s); ${report.marked} reachable`,
      );
    });
  registry
    .command("hosts-dir")
    .description("write containerd hosts.toml files that send every mirrored registry to airstrap's replicas")
    .requiredOption("-o, --output <dir>", "containerd config_path (e.g. /etc/containerd/certs.d)")
    .option("--endpoint <url>", "a registry replica, https://host:port (repeat, in order)", collect, [])
    .option("--ca <file>", "the site CA on the node")
    .argument("<mirror...>", "registry names to mirror: docker.io quay.io ...")
    .action(async (mirrors: string[], flags: { output: string; endpoint: string[]; ca?: string }) => {
      const written = await writeHostsDir(flags.output, mirrors, {
        endpoints: flags.endpoint,
        ...(flags.ca ? { caFile: flags.ca } : {}),
      });
      for (const path of written) out(path);
    });
  registry
    .command("list")
    .description("list the repositories and tags the store holds")
    .requiredOption("--root <dir>", "store root")
    .action(async (flags: { root: string }) => {
      for (const { repo, tags } of await listImages(flags.root)) out(`${repo}\t${tags.join(" ")}`);
    });
  registerRegistryReplicate(registry);
  return registry;
}

function printEvent(event: AirstrapEvent): void {
  if (event.level === "debug") return;
  const c = colorsFor(process.stderr);
  const paint = event.level === "error" ? c.red : event.level === "warn" ? c.yellow : c.dim;
  err(`${c.dim(event.time.slice(11, 19))} ${paint(event.level.padEnd(5))} ${event.message}`);
}
