/**
 * containerd's `<config_path>/<registry>/hosts.toml` that sends every pull for `registry` to
 * airstrap's replicas. The first replica is also the `server`, so when every host fails
 * containerd falls back to a replica, never to the internet.
 */
export interface HostsTomlOptions {
  /** Replica endpoints in order, e.g. https://k8s-server-01.edge.lan:5000. */
  endpoints: string[];
  /** CA file on the node that the replicas' certificates chain to (the site CA). */
  caFile?: string;
}

export function renderHostsToml(options: HostsTomlOptions): string {
  const [server] = options.endpoints;
  if (server === undefined) throw new Error("hosts.toml needs at least one registry endpoint");
  const quote = (value: string) => JSON.stringify(value);
  const lines = [
    "# Written by airstrap: pulls go to the site's registry replicas; the default upstream is never tried.",
    `server = ${quote(server)}`,
  ];
  for (const endpoint of options.endpoints) {
    lines.push("", `[host.${quote(endpoint)}]`, '  capabilities = ["pull", "resolve"]');
    if (options.caFile && endpoint.startsWith("https:")) lines.push(`  ca = ${quote(options.caFile)}`);
  }
  return `${lines.join("\n")}\n`;
}

/** The files of a containerd `config_path` tree: `<registry>/hosts.toml` for every mirrored name. */
export function hostsTomlTree(mirrors: string[], options: HostsTomlOptions): { path: string; content: string }[] {
  const content = renderHostsToml(options);
  return mirrors.map((mirror) => {
    if (!/^[a-zA-Z0-9.-]+(:\d+)?$/.test(mirror) && mirror !== "_default") {
      throw new Error(`"${mirror}" is not a registry host name`);
    }
    return { path: `${mirror}/hosts.toml`, content };
  });
}
