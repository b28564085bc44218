import type { PlannedHost } from "../../plan/types.js";
import { ARTIFACT_DIR, type CarriedFile, type InstallContext } from "../context.js";
import { ensureCarriedFiles } from "../ensure-file.js";
import type { Phase } from "../phase.js";
import { RelayPlan, relayStartCommand } from "../relay.js";
import { mustRun } from "./host-of.js";

const needsFiles = (ctx: InstallContext, host: PlannedHost) =>
  ctx.facts.get(host.name)?.installedVersion !== ctx.plan.distro.version;

/**
 * Puts the distro's release files on every host that does not yet run this version, verified by
 * SHA-256 on arrival; files already there with the same content are not sent again. Over HTTP the
 * hosts pass the files on to each other as they arrive (relay.ts), so the bootstrap machine sends
 * each file a fixed number of times, however many hosts there are.
 */
export const distributeArtifacts: Phase<InstallContext> = {
  title: "Distribute artifacts",
  hosts: (ctx) => ctx.plan.hosts.filter((h) => needsFiles(ctx, h)),
  order: "parallel",
  onFailure: "host-only",
  async run(host, ctx) {
    const files = ctx.releaseFiles.map((file) => ({
      path: `${ARTIFACT_DIR}/${file.name}`,
      source: file,
      mode: file.name === "install.sh" || /^k3s(-arm64)?$/.test(file.name) ? 0o755 : 0o644,
      what: `${file.name} (${(file.size / 2 ** 20).toFixed(1)} MiB)`,
    }));
    const relay = relayPlanFor(ctx);
    if (!relay) return void (await ensureCarriedFiles(ctx, host, files));
    await startRelay(ctx, relay, host, files);
    const parent = await relay.parentFor(host.name);
    const parentHost = ctx.plan.hosts.find((h) => h.name === parent);
    await ensureCarriedFiles(
      ctx,
      host,
      files,
      parentHost && { name: parentHost.name, url: `http://${urlHost(parentHost.address)}:${relay.port}` },
    );
  },
};

/** One tree per install, over the hosts that fetch over HTTP, in the plan's order (servers first). */
function relayPlanFor(ctx: InstallContext): RelayPlan | undefined {
  if (!ctx.filesUrl) return undefined;
  ctx.relay ??= new RelayPlan(
    ctx.plan.hosts.filter((h) => needsFiles(ctx, h) && ctx.facts.get(h.name)?.hasCurl === true),
    Number(new URL(ctx.filesUrl).port),
  );
  return ctx.relay;
}

/** Starts this host's relay when others will fetch from it; a relay that does not start only costs them a fall-back. */
async function startRelay(
  ctx: InstallContext,
  relay: RelayPlan,
  host: PlannedHost,
  files: Array<{ path: string; source: CarriedFile }>,
): Promise<void> {
  const children = relay.children(host.name);
  let up = false;
  try {
    if (children.length > 0 && !ctx.sshOnlyHosts.has(host.name)) {
      const command = relayStartCommand(
        host,
        relay.port,
        ctx.plan.dns.allowedNetworks,
        files.map((f) => ({ sha256: f.source.sha256, size: f.source.size, path: f.path })),
      );
      up =
        (await ctx.change(host, `pass the release files on to ${children.join(", ")} (port ${relay.port})`, () =>
          mustRun(ctx, host, "starting the relay", command).then(() => true),
        )) === true;
    }
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

const urlHost = (address: string) => (address.includes(":") ? `[${address}]` : address);
