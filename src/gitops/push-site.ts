import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OperatorError } from "../errors.js";
import { registerSecret } from "../secrets.js";

export interface PushSiteOptions {
  /** The git binary. */
  git: string;
  /** The site repository's folder (the manifest's). */
  siteDir: string;
  /** The stage folders, relative to siteDir: what is pushed. */
  paths: readonly string[];
  url: string;
  branch: string;
  user: string;
  password: string;
}

export interface PushResult {
  commit: string;
  /** False when the branch already held exactly these folders: nothing was pushed. */
  pushed: boolean;
}

/** The private age key's prefix: a file holding it must never reach the repository. */
const AGE_SECRET_PREFIX = "AGE-SECRET-KEY-1";

/**
 * Pushes the stage folders to the git server as one commit on top of the branch's head (other
 * files on the branch are kept), through a private temporary repository: the site folder need
 * not be a git repository and its state dir is never read. Nothing is pushed when the folders
 * are already what the branch holds, so a re-run leaves the repository (and Flux) alone. A file
 * holding an age private key is refused before anything leaves the machine.
 */
export async function pushSiteRepository(options: PushSiteOptions): Promise<PushResult> {
  const work = await mkdtemp(join(tmpdir(), "airstrap-site-push-"));
  try {
    const basic = registerSecret(Buffer.from(`${options.user}:${options.password}`).toString("base64"));
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: work,
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_TERMINAL_PROMPT: "0",
      GIT_DIR: join(work, "repo.git"),
      GIT_INDEX_FILE: join(work, "index"),
      GIT_WORK_TREE: options.siteDir,
      GIT_AUTHOR_NAME: "airstrap",
      GIT_AUTHOR_EMAIL: "airstrap@localhost",
      GIT_COMMITTER_NAME: "airstrap",
      GIT_COMMITTER_EMAIL: "airstrap@localhost",
      // In the environment, not on the command line: other users can read a process's arguments.
      GIT_CONFIG_COUNT: "1",
      GIT_CONFIG_KEY_0: "http.extraHeader",
      GIT_CONFIG_VALUE_0: `Authorization: Basic ${basic}`,
    };
    const git = (args: string[]) => run(options.git, args, env);
    const { GIT_WORK_TREE: _tree, GIT_DIR: _dir, ...initEnv } = env;
    await run(options.git, ["init", "-q", "--bare", env.GIT_DIR!], initEnv);
    const ref = `refs/heads/${options.branch}`;
    // A repository that does not exist yet is created by the first push (airstrap git serve does so).
    const listed = await git(["ls-remote", options.url, ref]).catch((error: Error) => {
      if (/not found|no repository/.test(error.message)) return "";
      throw error;
    });
    const remote = listed.split(/\s/)[0] || undefined;
    if (remote) {
      await git(["fetch", "-q", "--no-tags", options.url, ref]);
      await git(["read-tree", remote]);
    }
    const pathspecs = options.paths.map((path) => `:(top)${path.replace(/^\.\/+/, "").replace(/\/+$/, "") || "."}`);
    await git(["add", "-A", "--", ...pathspecs, ":(exclude,glob)**/.airstrap/**", ":(exclude).airstrap"]);
    const leaking = (await gitGrep(options.git, env)).filter((name) => name !== "");
    if (leaking.length > 0) {
      throw new OperatorError(`refusing to push: ${leaking.join(", ")} holds an age private key`, {
        hint: "the age key goes to the cluster as the sops-age Secret, never into the repository: move the file out of the stage folders",
      });
    }
    const tree = (await git(["write-tree"])).trim();
    if (remote && (await git(["rev-parse", `${remote}^{tree}`])).trim() === tree)
      return { commit: remote, pushed: false };
    const parents = remote ? ["-p", remote] : [];
    const commit = (
      await git(["commit-tree", tree, ...parents, "-m", `airstrap: stages ${options.paths.join(", ")}`])
    ).trim();
    await git(["push", "-q", options.url, `${commit}:${ref}`]);
    return { commit, pushed: true };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function gitGrep(gitBinary: string, env: NodeJS.ProcessEnv): Promise<string[]> {
  return new Promise((resolve, reject) => {
    execFile(gitBinary, ["grep", "--cached", "-l", "-I", "-F", AGE_SECRET_PREFIX], { env }, (error, stdout) => {
      // git grep exits 1 when nothing matches.
      if (error && error.code !== 1) reject(error);
      else resolve(stdout.split("\n"));
    });
  });
}

function run(binary: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(binary, args, { env, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (!error) return resolve(stdout);
      const detail = (stderr || error.message).trim().split("\n").slice(-3).join("; ");
      reject(
        new OperatorError(`git ${args[0]} failed: ${detail}`, {
          hint:
            args[0] === "push" || args[0] === "ls-remote" || args[0] === "fetch"
              ? "is the git server running at spec.gitops.url, and does it accept this push user (its --htpasswd)?"
              : "see git's message above",
        }),
      );
    });
  });
}
