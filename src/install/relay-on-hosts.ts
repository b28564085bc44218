import { imageArchiveName } from "../image/image-config.js";
import { formatEndpoint } from "../net/endpoint.js";
import { AIRSTRAP_PATHS, DISTRO_PATHS } from "../plan/distro-paths.js";
import type { Plan, PlannedHost } from "../plan/types.js";
import { ARTIFACT_DIR, type CarriedFile, type InstallContext } from "./context.js";
import { mustRun } from "./host-of.js";
import { RELAY_FANOUT, RELAY_UNIT, RelayPlan, relayStartCommand, relayStopCommand } from "./relay.js";

/** Whether the host runs this version of the distro already (then it needs no release files). */
export const needsReleaseFiles = (ctx: InstallContext, host: PlannedHost) =>
  ctx.facts.get(host.name)?.installedVersion !== ctx.plan.distro.version;

const needsExecutable = (ctx: InstallContext, host: PlannedHost) =>
  ctx.facts.get(host.name)?.executableSha256 !== ctx.nodeBinary.sha256;

/** Where airstrap's image lies on a node: the distro imports every archive in this folder at start. */
export const nodeImagePath = (plan: Plan) =>
  `${DISTRO_PATHS[plan.distro.name].imagesDir}/${imageArchiveName(plan.distro.arch)}`;

/** Where a release file lives on a node. */
export const releaseFilePath = (file: CarriedFile) => `${ARTIFACT_DIR}/${file.name}`;

/**
 * One tree per install, made by the node services phase before any host enters it: the hosts that
 * will fetch something over HTTP, servers first then agents — the order the lanes hand hosts to the
 * concurrency limit, so a parent always starts before its children and none waits on a host still
 * queued behind it.
 */
export function planRelay(ctx: InstallContext): RelayPlan | undefined {
  // With no more hosts at work at once than the bootstrap machine serves in the tree, its link is
  // never shared by more: relaying would only add steps (one host at a time, as in --concurrency 1).
  if (!ctx.filesUrl || ctx.plan.bootstrap?.relay === false || ctx.concurrency <= RELAY_FANOUT) return undefined;
  const fetching = ctx.plan.hosts.filter(
    (h) =>
      ctx.facts.get(h.name)?.hasCurl === true &&
      !ctx.sshOnlyHosts.has(h.name) &&
      (needsExecutable(ctx, h) || needsReleaseFiles(ctx, h)),
  );
  return new RelayPlan(
    [...fetching.filter((h) => h.role === "server"), ...fetching.filter((h) => h.role !== "server")],
    Number(new URL(ctx.filesUrl).port),
  );
}

/** The hosts' relays have served their purpose once the install ends, however it ends. */
export async function stopRelays(ctx: InstallContext): Promise<void> {
  await Promise.all(
    [...(ctx.relay?.running ?? [])].map(async (name) => {
      const host = ctx.plan.hosts.find((h) => h.name === name);
      const transport = ctx.hosts.get(name);
      if (!host || !transport) return;
      try {
        await transport.exec(relayStopCommand, { sudo: host.ssh.sudo, timeoutMs: 15_000 });
      } catch (error) {
        ctx.events.emit({
          level: "warn",
          kind: "install.relay.stop",
          host: name,
          message: `could not stop ${RELAY_UNIT} (${(error as Error).message}); systemd stops it within the hour`,
        });
      }
    }),
  );
}

/** The host's parent in the tree, once its relay is up, as the fetch script's first source. */
export async function relaySource(
  ctx: InstallContext,
  relay: RelayPlan,
  host: PlannedHost,
  waitMs?: number,
): Promise<{ name: string; url: string } | undefined> {
  const parent = ctx.plan.hosts.find((h) => h.name === relay.parentOf(host.name));
  if (!parent || !(await relay.parentUp(host.name, waitMs))) return undefined;
  return { name: parent.name, url: `http://${formatEndpoint({ address: parent.address, port: relay.port })}` };
}

/**
 * Starts the host's relay — the executable it just got and the release files as they arrive — when
 * other hosts will fetch from it, and tells them whether it is up. A relay that does not start only
 * sends its children to the bootstrap machine.
 */
export async function startRelay(ctx: InstallContext, relay: RelayPlan, host: PlannedHost): Promise<void> {
  const children = relay.children(host.name);
  let up = false;
  try {
    if (children.length === 0 || ctx.sshOnlyHosts.has(host.name)) return;
    const files = [
      { sha256: ctx.nodeBinary.sha256, size: ctx.nodeBinary.size, path: AIRSTRAP_PATHS.binary },
      ...(ctx.nodeImage
        ? [{ sha256: ctx.nodeImage.sha256, size: ctx.nodeImage.size, path: nodeImagePath(ctx.plan) }]
        : []),
      ...ctx.releaseFiles.map((f) => ({ sha256: f.sha256, size: f.size, path: releaseFilePath(f) })),
    ];
    const command = relayStartCommand(host, relay.port, ctx.plan.dns.allowedNetworks, files);
    up =
      (await ctx.change(host, `pass the carried files on to ${children.join(", ")} (port ${relay.port})`, () =>
        mustRun(ctx, host, "starting the relay", command).then(() => true),
      )) === true;
  } catch (error) {
    ctx.events.emit({
      level: "warn",
      kind: "install.relay.failed",
      host: host.name,
      message: `cannot pass the files on (${(error as Error).message}); ${children.join(", ")} fetch from the bootstrap machine`,
    });
  } finally {
    relay.settle(host.name, up);
  }
}
