import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { OperatorError, UsageError } from "../errors.js";
import { createEvents } from "../events.js";
import { parseEndpoint } from "../net/endpoint.js";
import { registerSecret } from "../secrets.js";
import { initRepo, repoExists } from "../services/git/backend.js";
import type { GitConfig } from "../services/git/config.js";
import { startGit } from "../services/git/service.js";
import { readHtpasswd } from "../services/registry/auth.js";
import { serveUntilSignalled } from "./common.js";
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
    .action(async (flags: GitServeFlags) => {
      const events = createEvents();
      attachView("plain", events, process.stderr);
      const service = await startGit(await configFrom(flags), events);
      err(`git server listening on ${service.addresses.join(", ")} (Ctrl-C stops, SIGHUP reloads)`);
      await serveUntilSignalled(
        () => service.close(),
        () => void configFrom(flags).then((next) => service.reload(next)),
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
