import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { OperatorError, UsageError } from "../errors.js";
import { createEvents } from "../events.js";
import { gitServerMaterial } from "../gitops/git-material.js";
import { parseEndpoint } from "../net/endpoint.js";
import { registerSecret } from "../secrets.js";
import { initRepo, repoExists } from "../services/git/backend.js";
import type { GitConfig } from "../services/git/config.js";
import { startGit } from "../services/git/service.js";
import { readHtpasswd } from "../services/registry/auth.js";
import { planFromManifestFile, serveUntilSignalled } from "./common.js";
import { err, out } from "./terminal.js";
import { attachView } from "./views/event-views.js";

export const GIT_DEFAULT_PORT = 8418;
const collect = (value: string, previous: string[]) => [...previous, value];

interface GitServeFlags {
  root?: string;
  listen: string[];
  htpasswd?: string;
  readTokenFile: string[];
  webhookUrl?: string;
  webhookUrlFile?: string;
  webhookTokenFile?: string;
  git: string;
  /** A cluster manifest: the state dir's git material and the site repository's address as defaults. */
  file?: string;
}

export function registerGit(program: Command): Command {
  const git = program.command("git").description("the in-site git server Flux reads the site repository from");
  git
    .command("serve")
    .description("serve repositories over git smart HTTP (clone, fetch, shallow fetch, push)")
    .option("--root <dir>", "the folder of bare repositories (<name>.git)")
    .option("--listen <addr:port>", `listen here (repeat; default 127.0.0.1:${GIT_DEFAULT_PORT})`, collect, [])
    .option("--htpasswd <file>", "who may push: bcrypt htpasswd entries (htpasswd -B)")
    .option("--read-token-file <file>", "a read-only token for the cluster (repeat)", collect, [])
    .option("--webhook-url <url>", "a Flux Receiver (generic-hmac) to call after every push")
    .option(
      "--webhook-url-file <file>",
      "the Receiver's URL from a file (gitops bootstrap writes .airstrap/git/webhook-url; re-read on SIGHUP)",
    )
    .option("--webhook-token-file <file>", "the Receiver's token (its Secret's token field)")
    .option("--git <path>", "the git binary whose http-backend serves the protocol", "git")
    .option(
      "-f, --file <manifest>",
      "serve a site's repository: root, listen address (spec.gitops.url), push user, read token and webhook from its state dir",
    )
    .action(async (flags: GitServeFlags) => {
      const events = createEvents();
      attachView("plain", events, process.stderr);
      const service = await startGit(await configFrom(await withSiteDefaults(flags)), events);
      err(`git server listening on ${service.addresses.join(", ")} (Ctrl-C stops, SIGHUP reloads)`);
      await serveUntilSignalled(
        () => service.close(),
        () =>
          void withSiteDefaults(flags)
            .then(configFrom)
            .then((next) => service.reload(next)),
      );
    });
  git
    .command("init <name>")
    .description("create an empty bare repository (name.git) under --root")
    .requiredOption("--root <dir>", "the folder of bare repositories")
    .option("--git <path>", "the git binary", "git")
    .action(async (name: string, flags: { root: string; git: string }) => {
      const repo = name.endsWith(".git") ? name : `${name}.git`;
      if (!/^[a-z0-9][a-z0-9._-]*(\/[a-z0-9][a-z0-9._-]*)*\.git$/.test(repo))
        throw new UsageError(`repository name ${name} is not allowed`, { hint: "lower-case letters, digits, . _ -" });
      if (await repoExists(flags.root, repo)) throw new OperatorError(`${repo} exists already in ${flags.root}`);
      await initRepo(flags.git, flags.root, repo);
      out(`${flags.root}/${repo}`);
    });
  return git;
}

/**
 * `git serve -f cluster.yaml`: what `gitops bootstrap` pushes with and tells the cluster, from the
 * state dir (created there once): repositories in .airstrap/git/repositories, the push user's
 * htpasswd, the cluster's read token, and the Receiver's URL and token once bootstrap wrote them.
 * Flags given explicitly win.
 */
async function withSiteDefaults(flags: GitServeFlags): Promise<GitServeFlags> {
  if (!flags.file) return flags;
  const site = await planFromManifestFile(flags.file);
  const url = site.plan.gitops?.url;
  if (!url) {
    throw new UsageError(`${flags.file} has no spec.stages (or no spec.gitops.url / spec.bootstrap.address)`, {
      hint: "give --root and --listen instead",
    });
  }
  await gitServerMaterial(site.state);
  const webhookUrlFile = site.state.file("git/webhook-url");
  const hasWebhook = (await site.state.read("git/webhook-url")) !== undefined;
  const { hostname, port } = new URL(url);
  return {
    ...flags,
    root: flags.root ?? site.state.file("git/repositories"),
    listen: flags.listen.length ? flags.listen : [`${hostname}:${port || "80"}`],
    htpasswd: flags.htpasswd ?? site.state.file("git/htpasswd"),
    readTokenFile: flags.readTokenFile.length ? flags.readTokenFile : [site.state.file("git/read-token")],
    ...(flags.webhookUrl || flags.webhookUrlFile || !hasWebhook
      ? {}
      : { webhookUrlFile, webhookTokenFile: flags.webhookTokenFile ?? site.state.file("git/webhook-token") }),
  };
}

async function configFrom(flags: GitServeFlags): Promise<GitConfig> {
  if (!flags.root) throw new UsageError("--root DIR is required");
  if (flags.webhookUrl && flags.webhookUrlFile)
    throw new UsageError("--webhook-url and --webhook-url-file: give one of them");
  if (Boolean(flags.webhookUrl || flags.webhookUrlFile) !== Boolean(flags.webhookTokenFile))
    throw new UsageError("--webhook-url (or --webhook-url-file) and --webhook-token-file go together");
  const secretFile = async (path: string) => {
    const text = (
      await readFile(path, "utf8").catch((error: Error) => {
        throw new OperatorError(`cannot read ${path}: ${error.message}`);
      })
    ).trim();
    if (!text) throw new OperatorError(`${path} is empty`);
    return registerSecret(text);
  };
  const webhookUrl =
    flags.webhookUrl ??
    (flags.webhookUrlFile
      ? (
          await readFile(flags.webhookUrlFile, "utf8").catch((error: Error) => {
            throw new OperatorError(`cannot read ${flags.webhookUrlFile}: ${error.message}`, {
              hint: "airstrap gitops bootstrap writes it once the Flux Receiver exists",
            });
          })
        ).trim()
      : undefined);
  return {
    listen: (flags.listen.length ? flags.listen : [`127.0.0.1:${GIT_DEFAULT_PORT}`]).map((text) =>
      parseEndpoint(text, "--listen", { allowPortZero: true }),
    ),
    root: flags.root,
    users: flags.htpasswd ? await readHtpasswd(flags.htpasswd) : new Map(),
    readTokens: await Promise.all(flags.readTokenFile.map(secretFile)),
    ...(webhookUrl && flags.webhookTokenFile
      ? { webhook: { url: webhookUrl, token: await secretFile(flags.webhookTokenFile) } }
      : {}),
    git: flags.git,
  };
}
