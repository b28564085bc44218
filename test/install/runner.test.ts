import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import { type AirstrapEvent, createEvents } from "../../src/events.js";
import { TransientHostError } from "../../src/hosts/host.js";
import type { Phase, PhaseContext } from "../../src/install/phase.js";
import { PhaseFailure } from "../../src/install/phase.js";
import { changeDoor, runPhases, runSteps } from "../../src/install/runner.js";
import { validateManifestText } from "../../src/manifest/validate.js";
import { planCluster } from "../../src/plan/plan.js";
import { example } from "../helpers/cli.js";

const fastRetry = { attempts: 3, baseDelayMs: 1, maxDelayMs: 2 };

async function context(dryRun = false): Promise<{ ctx: PhaseContext; events: AirstrapEvent[] }> {
  const result = validateManifestText(await readFile(example("rke2-ha.yaml"), "utf8"), "x", {});
  const plan = planCluster(result.manifest!);
  const bus = createEvents();
  const events: AirstrapEvent[] = [];
  bus.subscribe((e) => events.push(e));
  return { ctx: { plan, events: bus, dryRun, hosts: new Map(), change: changeDoor(bus, dryRun) }, events };
}

const servers = (ctx: PhaseContext) => ctx.plan.hosts.filter((h) => h.role === "server" && !h.primary);
const agents = (ctx: PhaseContext) => ctx.plan.hosts.filter((h) => h.role === "agent");

function tracking() {
  let inFlight = 0;
  let peak = 0;
  const order: string[] = [];
  return {
    order,
    peak: () => peak,
    async work(name: string) {
      inFlight++;
      peak = Math.max(peak, inFlight);
      order.push(`start ${name}`);
      await new Promise((r) => setTimeout(r, 5));
      order.push(`end ${name}`);
      inFlight--;
    },
  };
}

test("one-at-a-time phases never overlap; parallel phases respect the concurrency limit", async () => {
  const { ctx } = await context();
  const sequential = tracking();
  const parallel = tracking();
  const everyone = (c: PhaseContext) => c.plan.hosts;
  const report = await runPhases(
    [
      {
        title: "join servers",
        hosts: servers,
        order: "one-at-a-time",
        onFailure: "stop-phase",
        run: (h) => sequential.work(h.name),
      },
      {
        title: "everyone",
        hosts: everyone,
        order: "parallel",
        onFailure: "host-only",
        run: (h) => parallel.work(h.name),
      },
    ],
    ctx,
    { concurrency: 2, retry: fastRetry },
  );
  assert.equal(report.ok, true);
  assert.equal(sequential.peak(), 1);
  assert.deepEqual(sequential.order, [
    "start k8s-server-02",
    "end k8s-server-02",
    "start k8s-server-03",
    "end k8s-server-03",
  ]);
  assert.equal(parallel.peak(), 2);
  assert.equal(parallel.order.filter((o) => o.startsWith("end")).length, 5);
});

test("transient faults are retried with backoff; other failures are not", async () => {
  const { ctx, events } = await context();
  const attempts = new Map<string, number>();
  const report = await runPhases(
    [
      {
        title: "flaky",
        hosts: agents,
        order: "parallel",
        onFailure: "host-only",
        async run(host) {
          const n = (attempts.get(host.name) ?? 0) + 1;
          attempts.set(host.name, n);
          if (host.name === "k8s-agent-01" && n < 3) throw new TransientHostError("connection reset", host.name);
          if (host.name === "k8s-agent-02") throw new PhaseFailure("token rejected", "check .airstrap/token");
        },
      },
    ],
    ctx,
    { concurrency: 4, retry: fastRetry },
  );
  assert.equal(attempts.get("k8s-agent-01"), 3);
  assert.equal(attempts.get("k8s-agent-02"), 1);
  assert.deepEqual(report.failures, [
    { host: "k8s-agent-02", phase: "flaky", reason: "token rejected", hint: "check .airstrap/token" },
  ]);
  assert.equal(events.filter((e) => e.kind === "install.host.retry" && e.host === "k8s-agent-01").length, 2);
});

test("a failed agent does not stop the others; a failed server stops the server sequence; failed hosts drop out", async () => {
  const { ctx } = await context();
  const ran: string[] = [];
  const report = await runPhases(
    [
      {
        title: "servers",
        hosts: servers,
        order: "one-at-a-time",
        onFailure: "stop-phase",
        async run(h) {
          ran.push(`servers ${h.name}`);
          if (h.name === "k8s-server-02") throw new Error("etcd join failed");
        },
      },
      {
        title: "agents",
        hosts: agents,
        order: "parallel",
        onFailure: "host-only",
        async run(h) {
          ran.push(`agents ${h.name}`);
          if (h.name === "k8s-agent-01") throw new Error("disk full");
        },
      },
      {
        title: "after",
        hosts: (c) => c.plan.hosts,
        order: "parallel",
        onFailure: "host-only",
        async run(h) {
          ran.push(`after ${h.name}`);
        },
      },
    ],
    ctx,
    { concurrency: 4, retry: fastRetry },
  );
  assert.deepEqual(
    ran.filter((r) => r.startsWith("servers")),
    ["servers k8s-server-02"],
  );
  assert.deepEqual(ran.filter((r) => r.startsWith("agents")).sort(), ["agents k8s-agent-01", "agents k8s-agent-02"]);
  assert.deepEqual(ran.filter((r) => r.startsWith("after")).sort(), [
    "after k8s-agent-02",
    "after k8s-server-01",
    "after k8s-server-03",
  ]);
  assert.deepEqual(
    report.failures.map((f) => `${f.phase}/${f.host}`),
    ["servers/k8s-server-02", "agents/k8s-agent-01"],
  );
  assert.equal(report.ok, false);
  assert.equal(report.stopped, false);
});

test("a stop-run failure ends the run", async () => {
  const { ctx } = await context();
  let later = false;
  const report = await runPhases(
    [
      {
        title: "primary",
        hosts: (c) => c.plan.hosts.filter((h) => h.primary),
        order: "one-at-a-time",
        onFailure: "stop-run",
        async run() {
          throw new Error("rke2-server did not start");
        },
      },
      {
        title: "agents",
        hosts: agents,
        order: "parallel",
        onFailure: "host-only",
        async run() {
          later = true;
        },
      },
    ],
    ctx,
    { concurrency: 4, retry: fastRetry },
  );
  assert.equal(later, false);
  assert.equal(report.stopped, true);
  assert.deepEqual(
    report.phases.map((p) => p.title),
    ["primary"],
  );
});

test("in a dry run every change is reported and none is made", async () => {
  const { ctx, events } = await context(true);
  let made = 0;
  const phase: Phase = {
    title: "configure",
    hosts: (c) => c.plan.hosts,
    order: "parallel",
    onFailure: "host-only",
    async run(host, c) {
      await c.change(host, `write /etc/rancher/rke2/config.yaml`, async () => made++);
    },
  };
  const report = await runPhases([phase], ctx, { concurrency: 2, retry: fastRetry });
  assert.equal(report.ok, true);
  assert.equal(made, 0);
  const planned = events.filter((e) => e.kind === "install.change.planned");
  assert.equal(planned.length, 5);
  assert.equal(planned[0]!.message, "would write /etc/rancher/rke2/config.yaml");
});

test("lanes run side by side under one concurrency limit, and the steps after them wait for both", async () => {
  const { ctx, events } = await context();
  const log = tracking();
  const slowServers = {
    title: "join servers",
    hosts: servers,
    order: "one-at-a-time" as const,
    onFailure: "stop-phase" as const,
    run: async (h: { name: string }) => {
      await log.work(`join ${h.name}`);
      await log.work(`join ${h.name} again`);
    },
  };
  const prepare = {
    title: "prepare",
    hosts: (c: PhaseContext) => c.plan.hosts,
    order: "parallel" as const,
    onFailure: "host-only" as const,
    run: (h: { name: string }) => log.work(`prepare ${h.name}`),
  };
  const nobody = { ...prepare, title: "registry replicas on agents", hosts: () => [] };
  const after = {
    ...prepare,
    title: "join agents",
    hosts: agents,
    run: (h: { name: string }) => log.work(`after ${h.name}`),
  };
  const report = await runSteps(
    [
      {
        lanes: [
          { hosts: (h) => h.role === "server", phases: [prepare, nobody, slowServers] },
          { hosts: (h) => h.role === "agent", phases: [prepare, nobody] },
        ],
      },
      after,
    ],
    ctx,
    { concurrency: 2, retry: fastRetry },
  );
  assert.equal(report.ok, true);
  assert.equal(log.peak(), 2);
  const at = (entry: string) => log.order.indexOf(entry);
  // The agents prepared while the servers were still joining.
  assert.ok(at("end prepare k8s-agent-02") < at("end join k8s-server-03 again"));
  assert.ok(at("start after k8s-agent-01") > at("end join k8s-server-03 again"));
  assert.deepEqual(report.phases, [
    { title: "prepare", hosts: 5, skipped: false },
    { title: "registry replicas on agents", hosts: 0, skipped: true },
    { title: "join servers", hosts: 2, skipped: false },
    { title: "join agents", hosts: 2, skipped: false },
  ]);
  assert.equal(events.filter((e) => e.kind === "install.phase.skip").length, 1);
  assert.equal(events.filter((e) => e.kind === "install.phase.start" && e.phase === "prepare").length, 2);
});

test("an essential host failing a host-only phase ends the run; the other lane stops after its phase", async () => {
  const { ctx } = await context();
  const ran: string[] = [];
  const phase = (title: string, fail?: string) => ({
    title,
    hosts: (c: PhaseContext) => c.plan.hosts,
    order: "parallel" as const,
    onFailure: "host-only" as const,
    async run(h: { name: string }) {
      ran.push(`${title} ${h.name}`);
      if (h.name === fail) throw new Error("disk full");
      // The agents' lane is still in its first phase when the primary fails.
      if (h.name.startsWith("k8s-agent")) await new Promise((r) => setTimeout(r, 20));
    },
  });
  const report = await runSteps(
    [
      {
        lanes: [
          { hosts: (h) => h.role === "server", phases: [phase("distribute", "k8s-server-01"), phase("start")] },
          { hosts: (h) => h.role === "agent", phases: [phase("distribute"), phase("configure")] },
        ],
      },
      phase("join agents"),
    ],
    ctx,
    { concurrency: 4, retry: fastRetry, essential: (h) => h.primary },
  );
  assert.equal(report.stopped, true);
  assert.deepEqual(
    report.failures.map((f) => `${f.phase}/${f.host}`),
    ["distribute/k8s-server-01"],
  );
  assert.deepEqual(
    ran.filter((r) => !r.startsWith("distribute")),
    [],
  );
});

test("per-host phases: a host goes on to the next phase without waiting for the others; a failed host drops out", async () => {
  const { ctx, events } = await context();
  const order: string[] = [];
  const phase = (title: string, slow?: string, fail?: string) => ({
    title,
    hosts: agents,
    order: "parallel" as const,
    onFailure: "host-only" as const,
    async run(h: { name: string }) {
      if (h.name === slow) await new Promise((r) => setTimeout(r, 40));
      order.push(`${title} ${h.name}`);
      if (h.name === fail) throw new Error("disk full");
    },
  });
  const report = await runSteps(
    [{ perHost: [phase("fetch", "k8s-agent-02"), phase("configure", undefined, "k8s-agent-01"), phase("install")] }],
    ctx,
    { concurrency: 4, retry: fastRetry },
  );
  // k8s-agent-01 went through fetch and failed configure while k8s-agent-02 was still fetching.
  assert.deepEqual(order, [
    "fetch k8s-agent-01",
    "configure k8s-agent-01",
    "fetch k8s-agent-02",
    "configure k8s-agent-02",
    "install k8s-agent-02",
  ]);
  assert.deepEqual(
    report.failures.map((f) => `${f.phase}/${f.host}`),
    ["configure/k8s-agent-01"],
  );
  const told = events.filter((e) => e.kind.startsWith("install.phase.")).map((e) => `${e.kind.slice(14)} ${e.phase}`);
  assert.deepEqual(told, [
    "start fetch",
    "start configure",
    "end fetch",
    "end configure",
    "start install",
    "end install",
  ]);
});

test("a phase's prepare runs once before its first host, in whichever lane; its cleanup runs once however the run ends", async () => {
  const { ctx } = await context();
  const log: string[] = [];
  const shared: Phase = {
    title: "shared",
    hosts: (c) => c.plan.hosts,
    order: "parallel",
    onFailure: "host-only",
    prepare: () => log.push("prepare shared"),
    cleanup: async () => {
      log.push("cleanup shared");
    },
    async run(h) {
      log.push(`run ${h.name}`);
    },
  };
  const primaryFails: Phase = {
    title: "primary",
    hosts: (c) => c.plan.hosts.filter((h) => h.primary),
    order: "parallel",
    onFailure: "stop-run",
    cleanup: async () => {
      log.push("cleanup primary");
      throw new Error("cannot");
    },
    async run() {
      throw new PhaseFailure("no");
    },
  };
  const never: Phase = {
    title: "never",
    hosts: (c) => c.plan.hosts,
    order: "parallel",
    onFailure: "host-only",
    prepare: () => log.push("prepare never"),
    cleanup: async () => {
      log.push("cleanup never");
    },
    async run() {},
  };
  const report = await runSteps(
    [
      {
        lanes: [
          { hosts: (h) => h.role === "server", phases: [{ perHost: [shared] }, primaryFails] },
          { hosts: (h) => h.role !== "server", phases: [{ perHost: [shared] }] },
        ],
      },
      never,
    ],
    ctx,
    { concurrency: 3, retry: fastRetry },
  );
  assert.equal(report.stopped, true);
  assert.equal(log[0], "prepare shared");
  assert.equal(log.filter((l) => l === "prepare shared").length, 1);
  assert.equal(log.filter((l) => l.startsWith("run ")).length, ctx.plan.hosts.length);
  // Last entered first; a phase never entered is neither prepared nor cleaned up; a failing cleanup does not stop the others.
  assert.deepEqual(log.slice(-2), ["cleanup primary", "cleanup shared"]);
  assert.ok(!log.includes("prepare never") && !log.includes("cleanup never"));
});

test("cleanup runs when a phase throws out of the runner", async () => {
  const { ctx } = await context();
  const log: string[] = [];
  const phase: Phase = {
    title: "explodes",
    hosts: (c) => c.plan.hosts.slice(0, 1),
    order: "parallel",
    onFailure: "host-only",
    prepare: () => {
      throw new Error("bug");
    },
    cleanup: async () => {
      log.push("cleanup");
    },
    async run() {},
  };
  await assert.rejects(runSteps([phase], ctx, { concurrency: 1, retry: fastRetry }), /bug/);
  assert.deepEqual(log, ["cleanup"]);
});
