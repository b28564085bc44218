import { readFileSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildImage } from "../../src/image/build.js";
import { ociArchitecture } from "../../src/image/image-config.js";
import { IMAGE_EXECUTABLE } from "../../src/image/rootfs.js";
import { handleApi, status } from "../../src/lab/sim-distro/api.js";
import { ObjectStore } from "../../src/lab/sim-distro/store.js";
import { isWatch, serveWatch, WatchHub } from "../../src/lab/sim-distro/watch.js";
import { validateManifestText } from "../../src/manifest/validate.js";
import { nodeStatusName } from "../../src/node-agent/node-status.js";
import { planCluster } from "../../src/plan/plan.js";
import { renderPlanJson } from "../../src/render/host-files.js";
import { IN_CLUSTER_NAMESPACE, SITE_CONFIGMAP, SITE_MANIFEST_KEY } from "../../src/render/in-cluster/objects.js";
import { example } from "../helpers/cli.js";
import { notOnThisMachine } from "../helpers/skip.js";
import { hasContainerd } from "../peers/containerd.js";
import { makeCertificates } from "../peers/tls-certs.js";

export const NAMESPACE = IN_CLUSTER_NAMESPACE;
type After = { after(fn: () => unknown): void };

export const planJsonOf = (text: string) => renderPlanJson(planCluster(validateManifestText(text, "x", {}).manifest!));

/** The example site with one more DNS record: wiki.edge.lan → 10.77.0.31. */
export function withWikiRecord(text: string): string {
  const git = "      - { name: git, type: A, value: 10.77.0.30 }";
  if (!text.includes(git)) throw new Error("the example changed: no git record to add after");
  return text.replace(git, `${git}\n      - { name: wiki, type: A, value: 10.77.0.31 }`);
}

/**
 * The lab's simulated API server, over HTTPS on loopback, holding the ConfigMap the DaemonSet
 * reads; it streams watches (bookmarks every `bookmarkMs`). `failing` makes it answer 503 to
 * everything, as an API server that is down behind its load balancer does.
 */
export async function simulatedApi(t: After, options: { bookmarkMs?: number } = {}) {
  const certs = makeCertificates(["127.0.0.1"]);
  t.after(() => certs.remove());
  const store = new ObjectStore("s1");
  const hub = new WatchHub(store);
  const ctx = { store, version: "v1.31.4+rke2r1", serverAddress: "127.0.0.1:6443", now: () => new Date() };
  let failing = false;
  let watchesOpened = 0;
  const server = createServer(
    { cert: readFileSync(certs.certFile), key: readFileSync(certs.keyFile) },
    (request, response) => {
      if (failing) {
        response.writeHead(503, { "content-type": "application/json" });
        response.end(JSON.stringify(status(503, "ServiceUnavailable", "the simulated API is down").body));
        return;
      }
      if (isWatch(request.url ?? "/")) {
        watchesOpened++;
        serveWatch(hub, store, request.url ?? "/", response, { bookmarkMs: options.bookmarkMs ?? 60_000 });
        return;
      }
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        const answer = handleApi(ctx, {
          method: request.method ?? "GET",
          path: request.url ?? "/",
          body: Buffer.concat(chunks).toString("utf8"),
          ...(request.headers["content-type"] ? { contentType: request.headers["content-type"] } : {}),
        });
        response.writeHead(answer.status, { "content-type": "application/json" });
        response.end(JSON.stringify(answer.body));
      });
    },
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(
    () =>
      new Promise((resolve) => {
        server.close(resolve);
        server.closeAllConnections();
      }),
  );
  const call = (method: string, path: string, body?: unknown) =>
    handleApi(ctx, { method, path, body: body === undefined ? "" : JSON.stringify(body) });
  const setManifest = (text: string) =>
    call("PUT", `/api/v1/namespaces/${NAMESPACE}/configmaps/${SITE_CONFIGMAP}`, {
      metadata: { name: SITE_CONFIGMAP, namespace: NAMESPACE },
      data: { [SITE_MANIFEST_KEY]: text },
    });
  const eventReasons = () =>
    (call("GET", `/api/v1/namespaces/${NAMESPACE}/events`).body as { items: { reason: string; message: string }[] })
      .items;
  const statusOf = (node: string) =>
    call("GET", `/api/v1/namespaces/${NAMESPACE}/configmaps/${nodeStatusName(node)}`).body as {
      data?: Record<string, string>;
    };
  return {
    port: (server.address() as AddressInfo).port,
    caFile: certs.caFile,
    setManifest,
    eventReasons,
    statusOf,
    /** Writes something else, moving the store's clock on. */
    touch: (name: string) =>
      call("PUT", `/api/v1/namespaces/default/configmaps/${name}`, { data: { at: `${Date.now()}` } }),
    hub,
    /** Cuts every open connection (the watches among them), as a restarted API server or LB does. */
    dropConnections: () => server.closeAllConnections(),
    setFailing: (value: boolean) => {
      failing = value;
      if (value) server.closeAllConnections();
    },
    watchesOpened: () => watchesOpened,
  };
}

/** A folder with the pod's service account as Kubernetes mounts it (token, ca.crt, namespace). */
export async function serviceAccountDir(t: After, caFile: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "airstrap-sa-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await chmod(dir, 0o755);
  await mkdir(join(dir, "serviceaccount"), { mode: 0o755 });
  await writeFile(join(dir, "serviceaccount", "token"), "agent-token\n", { mode: 0o644 });
  await writeFile(join(dir, "serviceaccount", "ca.crt"), await readFile(caFile), { mode: 0o644 });
  await writeFile(join(dir, "serviceaccount", "namespace"), NAMESPACE, { mode: 0o644 });
  return join(dir, "serviceaccount");
}

/** Polls `check` until it gives a value (bounded in count; no timing is asserted). */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, tries = 150): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`never happened: ${what}`);
}

/**
 * `airstrap node agent` from airstrap's image under real containerd, as the DaemonSet runs it: host
 * network, the service account, the host's /etc/airstrap (and /usr/local/bin, when given) mounted
 * under /host, NODE_NAME, NODE_ADDRESS and POD_NAMESPACE, the API at KUBERNETES_SERVICE_HOST/PORT,
 * a read-only root. `ctr run` has no --user: the agent runs as the image's user (the DaemonSet runs
 * it as root), so the caller makes the host folders writable for that user.
 */
export async function runAgentContainer(
  containerd: { ctr(args: string[]): Promise<string> },
  options: {
    image: string;
    id: string;
    serviceAccount: string;
    hostConfig: string;
    hostBin?: string;
    node: string;
    nodeAddress: string;
    apiPort: number;
  },
): Promise<void> {
  const bind = (src: string, dst: string, mode: "ro" | "rw") => [
    "--mount",
    `type=bind,src=${src},dst=${dst},options=rbind:${mode}`,
  ];
  await containerd.ctr([
    "run",
    "-d",
    "--net-host",
    "--read-only",
    ...bind(options.serviceAccount, "/var/run/secrets/kubernetes.io/serviceaccount", "ro"),
    ...bind(options.hostConfig, "/host/etc/airstrap", "rw"),
    ...(options.hostBin ? bind(options.hostBin, "/host/usr/local/bin", "rw") : []),
    "--env",
    `NODE_NAME=${options.node}`,
    "--env",
    `NODE_ADDRESS=${options.nodeAddress}`,
    "--env",
    `POD_NAMESPACE=${NAMESPACE}`,
    "--env",
    "KUBERNETES_SERVICE_HOST=127.0.0.1",
    "--env",
    `KUBERNETES_SERVICE_PORT=${options.apiPort}`,
    options.image,
    options.id,
    IMAGE_EXECUTABLE,
    "node",
    "agent",
    "--backoff-max",
    "2",
  ]);
}

/**
 * The start of a test that runs containerd: skips it (and gives undefined) where containerd cannot
 * run, else a scope whose clean-ups run last registered first when the test ends — so a container
 * stops before the folders it mounts go — and a work folder removed last.
 */
export async function containerdTest(
  t: { skip(reason: string): void; after(fn: () => unknown): void },
  prefix: string,
): Promise<{ scope: After; work: string } | undefined> {
  if (!(await hasContainerd())) {
    t.skip("containerd/ctr are not installed");
    return undefined;
  }
  if (process.getuid?.() !== 0) {
    t.skip(notOnThisMachine("containerd needs root"));
    return undefined;
  }
  const cleanups: Array<() => unknown> = [];
  const scope = { after: (fn: () => unknown) => void cleanups.push(fn) };
  t.after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });
  const work = await mkdtemp(join(tmpdir(), prefix));
  scope.after(() => rm(work, { recursive: true, force: true }));
  return { scope, work };
}

/**
 * What an agent-in-its-image test starts from: airstrap's image of `executable` (tag and version
 * `tag`), the simulated API holding the example site (rke2-ha) as the site ConfigMap, and the pod's
 * service account for it.
 */
export async function imageAndSite(scope: After, work: string, executable: string, tag: string) {
  const image = await buildImage({
    executable,
    out: join(work, "image"),
    repository: "airstrap/airstrap",
    tag,
    labels: { version: tag },
    architecture: ociArchitecture(process.arch),
  });
  const api = await simulatedApi(scope);
  const text = await readFile(example("rke2-ha.yaml"), "utf8");
  api.setManifest(text);
  const account = await serviceAccountDir(scope, api.caFile);
  return { image, api, text, account };
}
