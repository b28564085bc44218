import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { OperatorError } from "../../errors.js";
import type { Events } from "../../events.js";
import { formatEndpoint } from "../../net/endpoint.js";
import { DISTRO_PATHS } from "../../plan/distro-paths.js";
import { createClusterCa, createServingCert } from "./certs.js";
import { connectSupervisor, peerCall } from "./client.js";
import { readOptional, renderKubeconfig, writeFileAtomic } from "./files.js";
import { nodeRegistration } from "./identity.js";
import type { SimNodeConfig } from "./node-config.js";
import { nodeKey, nodeObject, SUPERVISOR_ANNOTATION } from "./nodes.js";
import { type JoinRequest, type JoinResponse, startSimServers } from "./server.js";
import { type KubeObject, ObjectStore, type StoreEntry } from "./store.js";
import { adminBearer, formatNodeToken, parseToken } from "./token.js";
import { WatchHub } from "./watch.js";

export const HEARTBEAT_MS = 5_000;
const SYNC_MS = 3_000;

interface ClusterSecrets {
  caCert: string;
  caKey: string;
  password: string;
}

export interface RunningSimNode {
  name: string;
  close(): Promise<void>;
}

/**
 * SIMULATION of a distro server: initialises the cluster (no `server:`) or joins it through the
 * `server:` URL, serves supervisor and API ports with TLS, replicates the object store with the
 * other servers, writes node-token and kubeconfig where the real distro does, heartbeats itself.
 */
export async function runSimServer(config: SimNodeConfig, version: string, events: Events): Promise<RunningSimNode> {
  const self = nodeRegistration(config, version);
  const serverDir = join(config.dataDir, "server");
  const secretsFile = join(serverDir, "sim-cluster.json");
  const dbFile = join(serverDir, "sim-db.json");
  const supervisorUrl = `https://${formatEndpoint({ address: self.address, port: config.supervisorPort })}`;
  const store = new ObjectStore(self.name);

  let secrets = await readJson<ClusterSecrets>(secretsFile);
  if (secrets) {
    store.merge((await readJson<StoreEntry[]>(dbFile)) ?? []);
  } else if (config.server) {
    if (!config.token)
      throw new OperatorError("a server joining through server: needs token:", {
        hint: `set token in ${DISTRO_PATHS[config.distro].config}`,
      });
    const client = await retry(events, self.name, () => connectSupervisor(config.server!, config.token!, "server"));
    const answer = await retry(events, self.name, () =>
      client.call<JoinResponse>("POST", "/v1-sim/join", { ...self, supervisorUrl } satisfies JoinRequest),
    );
    secrets = { caCert: answer.caCert, caKey: answer.caKey!, password: answer.password! };
    store.merge(answer.entries ?? []);
  } else {
    const ca = await createClusterCa(join(serverDir, "tls"));
    const password = config.token ? parseToken(config.token).password : randomBytes(24).toString("hex");
    secrets = { caCert: ca.certPem, caKey: ca.keyPem, password };
    for (const namespace of ["default", "kube-system", "kube-public", "kube-node-lease"]) {
      store.put(`/v1/namespaces/_/${namespace}`, {
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name: namespace, creationTimestamp: new Date().toISOString() },
      });
    }
    events.emit({ level: "info", kind: "sim.init", host: self.name, message: "initialised a new simulated cluster" });
  }
  await writeFileAtomic(secretsFile, JSON.stringify(secrets), 0o600);

  const names = [
    self.name,
    self.address,
    "127.0.0.1",
    "localhost",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    ...config.tlsSan,
  ];
  const serving = await createServingCert(
    join(serverDir, "tls"),
    { certPem: secrets.caCert, keyPem: secrets.caKey },
    names,
  );
  const nodeToken = formatNodeToken(secrets.caCert, secrets.password);
  await writeFileAtomic(join(serverDir, "node-token"), `${nodeToken}\n`, 0o600);
  await writeFileAtomic(join(serverDir, "token"), `${nodeToken}\n`, 0o600);
  const bearer = adminBearer(secrets.password);
  await writeFileAtomic(
    config.writeKubeconfig,
    renderKubeconfig({ distro: config.distro, apiPort: config.apiPort, caPem: secrets.caCert, bearer }),
    0o600,
  );

  const register = (registration: typeof self & { supervisorUrl?: string }) => {
    const existing = store.get(nodeKey(registration.name));
    store.put(
      nodeKey(registration.name),
      nodeObject(registration, new Date(), existing?.metadata?.creationTimestamp as string | undefined),
    );
  };
  const password = secrets.password;
  const caCert = secrets.caCert;
  const peers = () =>
    store
      .list("/v1/nodes/")
      .map((node) => (node.metadata?.annotations as Record<string, string> | undefined)?.[SUPERVISOR_ANNOTATION])
      .filter((url): url is string => url !== undefined && url !== supervisorUrl);

  store.onWrite((entries) => {
    for (const peer of peers()) peerCall(peer, caCert, password, "POST", "/v1-sim/replicate", entries).catch(() => {});
    scheduleSave();
  });
  let saveTimer: NodeJS.Timeout | undefined;
  const scheduleSave = () => {
    saveTimer ??= setTimeout(() => {
      saveTimer = undefined;
      void writeFileAtomic(dbFile, JSON.stringify(store.snapshot()), 0o600).catch(() => {});
    }, 500);
  };

  const servers = await startSimServers({
    bindAddress: config.bindAddress,
    ports: [config.supervisorPort, config.apiPort],
    certPem: serving.certPem,
    keyPem: serving.keyPem,
    caPem: secrets.caCert,
    password,
    events,
    watches: new WatchHub(store),
    api: {
      store,
      version,
      serverAddress: formatEndpoint({ address: self.address, port: config.apiPort }),
      now: () => new Date(),
    },
    supervisor: {
      join(request) {
        register(request);
        if (request.role !== "server") return { caCert };
        return { caCert, caKey: secrets.caKey, password, entries: store.snapshot() };
      },
      heartbeat(name) {
        const node = store.get(nodeKey(name));
        if (!node) return false;
        store.put(nodeKey(name), withHeartbeat(node, new Date()));
        return true;
      },
      replicate(entries) {
        if (store.merge(entries) > 0) scheduleSave();
      },
      snapshot: () => store.snapshot(),
    },
  });
  register({ ...self, supervisorUrl });
  events.emit({
    level: "info",
    kind: "sim.ready",
    host: self.name,
    message: `serving on ${[...new Set([config.supervisorPort, config.apiPort])].join(", ")}`,
  });

  const heartbeat = setInterval(() => {
    const node = store.get(nodeKey(self.name));
    if (node) store.put(nodeKey(self.name), withHeartbeat(node, new Date()));
  }, HEARTBEAT_MS);
  // Anti-entropy: a server that was down or cut off catches up from its peers.
  const sync = setInterval(() => {
    for (const peer of peers()) {
      peerCall(peer, caCert, password, "GET", "/v1-sim/snapshot")
        .then((answer) => {
          if (answer.status === 200 && store.merge(JSON.parse(answer.body) as StoreEntry[]) > 0) scheduleSave();
        })
        .catch(() => {});
    }
  }, SYNC_MS);
  return {
    name: self.name,
    async close() {
      clearInterval(heartbeat);
      clearInterval(sync);
      if (saveTimer) clearTimeout(saveTimer);
      await writeFileAtomic(dbFile, JSON.stringify(store.snapshot()), 0o600).catch(() => {});
      await servers.close();
    },
  };
}

export function withHeartbeat(node: KubeObject, now: Date): KubeObject {
  const status = (node.status ?? {}) as Record<string, unknown>;
  return { ...node, status: { ...status, conditions: [{ type: "Ready", lastHeartbeatTime: now.toISOString() }] } };
}

async function readJson<T>(path: string): Promise<T | undefined> {
  const text = await readOptional(path);
  return text === undefined ? undefined : (JSON.parse(text) as T);
}

/** Keeps trying while the server is unreachable, as the real distro does; a refused token is final. */
export async function retry<T>(events: Events, host: string, attempt: () => Promise<T>): Promise<T> {
  for (let tries = 1; ; tries++) {
    try {
      return await attempt();
    } catch (error) {
      const statusCode = (error as { statusCode?: number }).statusCode;
      if (statusCode === 401 || statusCode === 403) {
        throw new OperatorError(`the cluster refused this node: ${(error as Error).message}`, {
          hint: "check token: in the distro's config.yaml against the server's node-token",
        });
      }
      if (error instanceof OperatorError) throw error;
      events.emit({
        level: "warn",
        kind: "sim.retry",
        host,
        message: `${(error as Error).message}; retrying (attempt ${tries})`,
      });
      await new Promise((resolve) => setTimeout(resolve, Math.min(5_000, 500 * tries)));
    }
  }
}
