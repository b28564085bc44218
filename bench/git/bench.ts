/**
 * The in-site git server against the plain ways of serving git, same machine, same run:
 *   - airstrap: `airstrap git serve` (the bundled CLI, as shipped), basic auth on push, a read token;
 *   - git daemon: git's own server (git:// protocol, no HTTP, no auth) — the floor;
 *   - lighttpd: `git http-backend` behind lighttpd's CGI, basic auth on push (when lighttpd is
 *     installed; Debian's package starts a system service, so the project does not install it).
 * Every server runs the same durable git settings airstrap uses (fsync everything, fsck received
 * objects), so the comparison is the serving, not the settings. Workload: a repository of 5,000
 * files / 50 MB (incompressible), pushed to an empty repository, cloned, and fetched at depth 1,
 * rounds alternating which server goes first; medians. Loopback only.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import bcrypt from "bcryptjs";
import { durableGitEnv } from "../../src/services/git/backend.js";
import { gitClientEnv } from "../../test/peers/git-client.js";
import { cpuSeconds, median } from "../registry/measure.js";

const FILES = Number(process.env.GIT_BENCH_FILES ?? 5000);
const TOTAL_MB = Number(process.env.GIT_BENCH_MB ?? 50);
const ROUNDS = Number(process.env.GIT_BENCH_ROUNDS ?? 3);
const USER = "operator";
const PASSWORD = "bench-push-password";
const TOKEN = "bench-read-token";

type Step = "push" | "clone" | "shallow";
interface Server {
  name: string;
  url(repo: string, write: boolean): string;
  pid: number;
  root: string;
  stop(): Promise<void>;
}

function run(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let errText = "";
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString();
    });
    child.stderr.on("data", (c: Buffer) => {
      if (errText.length < 8192) errText += c.toString();
    });
    child.once("error", reject);
    child.once("exit", (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${command} ${args.join(" ")}: exit ${code}\n${errText}`)),
    );
  });
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitForPort(port: number, child: ChildProcess, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`${what} did not listen on ${port}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function started(command: string, args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(command, args, { env, stdio: ["ignore", "ignore", "ignore"] });
}

async function stopped(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

async function startAirstrap(dir: string, bundle: string): Promise<Server> {
  const root = join(dir, "airstrap-repos");
  await mkdir(root, { recursive: true });
  const htpasswd = join(dir, "htpasswd");
  await writeFile(htpasswd, `${USER}:${bcrypt.hashSync(PASSWORD, 10)}\n`, { mode: 0o600 });
  const token = join(dir, "token");
  await writeFile(token, `${TOKEN}\n`, { mode: 0o600 });
  const port = await freePort();
  const child = started(
    process.execPath,
    [
      bundle,
      "git",
      "serve",
      "--root",
      root,
      "--listen",
      `127.0.0.1:${port}`,
      "--htpasswd",
      htpasswd,
      "--read-token-file",
      token,
    ],
    { PATH: process.env.PATH },
  );
  await waitForPort(port, child, "airstrap git serve");
  return {
    name: "airstrap",
    url: (repo, write) => `http://${write ? USER : "flux"}:${write ? PASSWORD : TOKEN}@127.0.0.1:${port}/${repo}`,
    pid: child.pid!,
    root,
    stop: () => stopped(child),
  };
}

async function startGitDaemon(dir: string): Promise<Server> {
  const root = join(dir, "daemon-repos");
  await mkdir(root, { recursive: true });
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, ...durableGitEnv() };
  const child = started(
    "git",
    [
      "daemon",
      "--reuseaddr",
      "--export-all",
      "--enable=receive-pack",
      `--base-path=${root}`,
      "--listen=127.0.0.1",
      `--port=${port}`,
      root,
    ],
    env,
  );
  await waitForPort(port, child, "git daemon");
  return {
    name: "git daemon",
    url: (repo) => `git://127.0.0.1:${port}/${repo}`,
    pid: child.pid!,
    root,
    stop: () => stopped(child),
  };
}

async function startLighttpd(dir: string, lighttpd: string): Promise<Server> {
  const root = join(dir, "lighttpd-repos");
  await mkdir(root, { recursive: true });
  const htpasswd = join(dir, "lighttpd.htpasswd");
  // lighttpd checks with crypt(3); Debian's libxcrypt reads bcrypt ($2b$), the same cost as airstrap's.
  await writeFile(
    htpasswd,
    `${USER}:${bcrypt.hashSync(PASSWORD, 10).replace(/^\$2a\$/, "$2b$")}\n${"flux"}:${bcrypt.hashSync(TOKEN, 10).replace(/^\$2a\$/, "$2b$")}\n`,
  );
  const port = await freePort();
  const backend = (await run("git", ["--exec-path"])).trim();
  const environment = Object.entries({ GIT_PROJECT_ROOT: root, GIT_HTTP_EXPORT_ALL: "1", ...durableGitEnv() })
    .map(([key, value]) => `"${key}" => "${value}"`)
    .join(", ");
  const conf = join(dir, "lighttpd.conf");
  await writeFile(
    conf,
    `server.modules = ("mod_setenv", "mod_alias", "mod_auth", "mod_authn_file", "mod_cgi")
server.document-root = "${root}"
server.bind = "127.0.0.1"
server.port = ${port}
server.errorlog = "${join(dir, "lighttpd.log")}"
server.max-request-size = 0
alias.url = ("/" => "${backend}/git-http-backend/")
cgi.assign = ("" => "")
setenv.add-environment = (${environment})
auth.backend = "htpasswd"
auth.backend.htpasswd.userfile = "${htpasswd}"
auth.require = ("/" => ("method" => "basic", "realm" => "git", "require" => "valid-user"))
`,
  );
  const child = started(lighttpd, ["-D", "-f", conf], { PATH: process.env.PATH });
  await waitForPort(port, child, "lighttpd");
  return {
    name: "lighttpd + http-backend",
    url: (repo, write) => `http://${write ? USER : "flux"}:${write ? PASSWORD : TOKEN}@127.0.0.1:${port}/${repo}`,
    pid: child.pid!,
    root,
    stop: () => stopped(child),
  };
}

/** 5,000 files of random bytes in 50 folders, one commit: nothing for git to compress. */
async function sourceRepository(dir: string): Promise<string> {
  const source = join(dir, "source");
  const size = Math.floor((TOTAL_MB * 1024 * 1024) / FILES);
  for (let i = 0; i < FILES; i++) {
    const folder = join(source, `dir-${String(i % 50).padStart(2, "0")}`);
    if (i < 50) await mkdir(folder, { recursive: true });
    await writeFile(join(folder, `file-${i}.bin`), randomBytes(size));
  }
  const env = gitClientEnv(dir);
  await run("git", ["init", "-q", "-b", "main"], { cwd: source, env });
  await run("git", ["add", "-A"], { cwd: source, env });
  await run("git", ["commit", "-q", "-m", "bench"], { cwd: source, env });
  return source;
}

/** Server CPU over a step: the server process and the git programs it started (reaped children). */
async function serverCpu(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, "utf8")).split(") ")[1]!.split(" ");
  return (await cpuSeconds(pid)) + (Number(fields[13]) + Number(fields[14])) / 100;
}

async function timed(server: Server, work: () => Promise<unknown>): Promise<{ seconds: number; cpu: number }> {
  await run("sync", []);
  const cpuBefore = await serverCpu(server.pid);
  const start = process.hrtime.bigint();
  await work();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { seconds, cpu: (await serverCpu(server.pid)) - cpuBefore };
}

async function step(server: Server, what: Step, source: string, dir: string, round: number) {
  const env = gitClientEnv(dir);
  const repo = `round-${round}.git`;
  const target = join(dir, `${server.name.replace(/\W+/g, "-")}-${what}-${round}`);
  if (what === "push") {
    // airstrap creates a repository on its first push; the others need it made beforehand.
    if (server.name !== "airstrap")
      await run("git", ["init", "-q", "--bare", "--initial-branch=main", join(server.root, repo)], { env });
    return timed(server, () => run("git", ["push", "-q", server.url(repo, true), "main"], { cwd: source, env }));
  }
  const args = what === "clone" ? ["clone", "-q", "--bare"] : ["clone", "-q", "--bare", "--depth", "1"];
  const result = await timed(server, () => run("git", [...args, server.url(repo, false), target], { env }));
  await rm(target, { recursive: true, force: true });
  return result;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "airstrap-git-bench-"));
  try {
    const bundle = join(dir, "airstrap.cjs");
    await run(process.execPath, ["scripts/build.mjs", "--outfile", bundle]);
    const lighttpd = await run("sh", ["-c", "command -v lighttpd || true"]).then((path) => path.trim());
    process.stdout.write(
      `repository: ${FILES} files, ${TOTAL_MB} MB; ${ROUNDS} rounds; load ${(await readFile("/proc/loadavg", "utf8")).split(" ").slice(0, 3).join(" ")}\n`,
    );
    const source = await sourceRepository(dir);
    const servers = [await startAirstrap(dir, bundle), await startGitDaemon(dir)];
    if (lighttpd) servers.push(await startLighttpd(dir, lighttpd));
    else process.stdout.write("lighttpd not installed: its column is left out (apt-get install lighttpd to add it)\n");
    const results = new Map<string, { seconds: number; cpu: number }[]>();
    try {
      for (let round = 0; round < ROUNDS; round++) {
        const order = round % 2 === 0 ? servers : [...servers].reverse();
        for (const what of ["push", "clone", "shallow"] as Step[])
          for (const server of order) {
            const key = `${server.name}\t${what}`;
            results.set(key, [...(results.get(key) ?? []), await step(server, what, source, dir, round)]);
          }
      }
    } finally {
      for (const server of servers) await server.stop();
    }
    report(
      servers.map((s) => s.name),
      results,
    );
    process.stdout.write(
      `load at the end ${(await readFile("/proc/loadavg", "utf8")).split(" ").slice(0, 3).join(" ")}\n`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function report(names: string[], results: Map<string, { seconds: number; cpu: number }[]>): void {
  const lines = [
    "| step | server | median s | each round s | server CPU s | peer time / airstrap time |",
    "|---|---|---:|---|---:|---:|",
  ];
  for (const what of ["push", "clone", "shallow"] as Step[]) {
    const ours = median(results.get(`airstrap\t${what}`)!.map((r) => r.seconds));
    for (const name of names) {
      const runs = results.get(`${name}\t${what}`)!;
      const seconds = median(runs.map((r) => r.seconds));
      // git daemon's per-connection children are reaped after the client is done: not countable.
      const cpu = name === "git daemon" ? "n/a" : median(runs.map((r) => r.cpu)).toFixed(2);
      const ratio = name === "airstrap" ? "—" : `${(seconds / ours).toFixed(2)}×`;
      const each = runs.map((r) => r.seconds.toFixed(2)).join(", ");
      lines.push(`| ${what} | ${name} | ${seconds.toFixed(2)} | ${each} | ${cpu} | ${ratio} |`);
    }
  }
  process.stdout.write(`${lines.join("\n")}\n`);
}

await main();
