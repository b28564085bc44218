import { bufferSource } from "../../hosts/upload-source.js";
import { AIRSTRAP_PATHS } from "../../plan/distro-paths.js";
import type { InstallContext } from "../context.js";
import { ensureCarriedFiles, ensureFiles } from "../ensure-file.js";
import { hostOf, mustRun } from "../host-of.js";
import { awaitHandover, serviceHandsOver } from "../node-handover.js";
import type { Phase } from "../phase.js";
import { planRelay, relaySource, startRelay, stopRelays } from "../relay-on-hosts.js";

/**
 * The node-local DNS server and load balancer must run before the distro starts: the distro's
 * `server:` URL names the cluster FQDN, which only they resolve and forward. Installs the
 * single-file executable, the plan and the unit, starts the unit, and points the host's resolver
 * at it. It provides the relay tree (made before any host enters, from the facts) that the
 * distribute phase uses too, and stops the relays when the run ends.
 */
export const nodeServices: Phase<InstallContext> = {
  title: "Start node DNS and load balancer",
  hosts: (ctx) => ctx.plan.hosts,
  order: "parallel",
  onFailure: "host-only",
  prepare(ctx) {
    ctx.relay = planRelay(ctx);
  },
  cleanup: stopRelays,
  async run(host, ctx) {
    const files = (ctx.files.get(host.name) ?? []).filter((f) => f.kind === "node-plan" || f.kind === "node-unit");
    const relay = ctx.relay;
    const facts = ctx.facts.get(host.name);
    const active = facts?.nodeServiceActive === true;
    // Asked before the file changes: a running service that hands over switches to the new
    // executable by itself, and a restart would only race that (see node-handover.ts).
    const handsOver =
      active && facts?.executableSha256 !== ctx.nodeBinary.sha256 && (await serviceHandsOver(ctx, host));
    let binaryChanged: boolean | undefined;
    try {
      [binaryChanged] = await ensureCarriedFiles(
        ctx,
        host,
        [{ path: AIRSTRAP_PATHS.binary, source: ctx.nodeBinary, mode: 0o755, what: "the airstrap executable" }],
        relay && (await relaySource(ctx, relay, host)),
      );
      // The relay runs from the executable: from here this host can pass on what it holds and gets.
      if (relay) await startRelay(ctx, relay, host);
    } finally {
      relay?.settle(host.name, false);
    }
    const wrote = await ensureFiles(
      ctx,
      host,
      files.map((f) => ({ path: f.path, source: bufferSource(f.content), mode: f.mode })),
    );
    const unitChanged = files.some((f, i) => f.kind === "node-unit" && wrote[i]);
    let restart = active && (binaryChanged === true || wrote.includes(true));
    if (active && binaryChanged === true && handsOver && !unitChanged) {
      const handedOver = await ctx.change(host, "hand airstrap-node over to the new executable", () =>
        awaitHandover(ctx, host, ctx.nodeBinary.sha256),
      );
      if (handedOver) {
        ctx.events.emit({
          level: "info",
          kind: "install.node.handover",
          host: host.name,
          message: `airstrap-node serves from the new executable (pid ${handedOver.pid}, airstrap ${handedOver.version}), without a restart`,
        });
        // The successor may have read the plan before this run wrote the new one: SIGHUP reloads it.
        if (wrote.includes(true)) {
          await ctx.change(host, "reload airstrap-node's plan", () =>
            mustRun(ctx, host, "reloading airstrap-node", `kill -HUP ${handedOver.pid}`),
          );
        }
      }
      // undefined in a dry run, where nothing was replaced.
      restart = handedOver === undefined && !ctx.dryRun;
      if (restart) {
        ctx.events.emit({
          level: "warn",
          kind: "install.node.handover.failed",
          host: host.name,
          message: "airstrap-node did not hand over to the new executable in time; restarting it",
        });
      }
    }
    if (!active || restart) {
      const start = active
        ? "systemctl daemon-reload && systemctl restart airstrap-node"
        : // One reload: `enable` would reload systemd a second time, which costs it ~0.1 s of CPU per host.
          "systemctl daemon-reload && systemctl enable --no-reload --now airstrap-node";
      await ctx.change(host, active ? "restart airstrap-node" : "enable and start airstrap-node", () =>
        mustRun(ctx, host, "starting airstrap-node", start),
      );
    }
    const resolver = await hostOf(ctx, host).exec(resolverCheck(host.address, ctx.plan.domain), {
      sudo: host.ssh.sudo,
    });
    if (resolver.code !== 0) {
      await ctx.change(host, `resolve ${ctx.plan.domain} through ${host.address}`, () =>
        mustRun(ctx, host, "pointing the resolver at airstrap", resolverCommand(host.address, ctx.plan.domain)),
      );
    }
  },
};

/** Exit 0 when the host already asks the node's own DNS server for the site's domain. */
export function resolverCheck(address: string, domain: string): string {
  return `grep -qsx 'DNS=${address}' /etc/systemd/resolved.conf.d/airstrap.conf && grep -qsx 'Domains=~${domain}' /etc/systemd/resolved.conf.d/airstrap.conf || grep -qsx 'nameserver ${address}' /etc/resolv.conf`;
}

/**
 * With systemd-resolved, a drop-in sends the site's domain to the node's own DNS server; otherwise
 * /etc/resolv.conf is replaced (the original kept once as resolv.conf.airstrap-orig).
 */
export function resolverCommand(address: string, domain: string): string {
  const dropIn = `[Resolve]\\nDNS=${address}\\nDomains=~${domain}\\n`;
  return [
    'if [ "$(readlink -f /etc/resolv.conf)" = /run/systemd/resolve/stub-resolv.conf ] && systemctl is-active --quiet systemd-resolved; then',
    `  mkdir -p /etc/systemd/resolved.conf.d && printf '${dropIn}' > /etc/systemd/resolved.conf.d/airstrap.conf && systemctl restart systemd-resolved;`,
    "else",
    "  [ -e /etc/resolv.conf.airstrap-orig ] || cp -P /etc/resolv.conf /etc/resolv.conf.airstrap-orig 2>/dev/null || true;",
    `  printf 'nameserver ${address}\\nsearch ${domain}\\n' > /etc/resolv.conf.airstrap && mv -f /etc/resolv.conf.airstrap /etc/resolv.conf;`,
    "fi",
  ].join("\n");
}
