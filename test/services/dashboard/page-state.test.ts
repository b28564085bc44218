import assert from "node:assert/strict";
import { test } from "node:test";
import { foldEvent, initialPageState, type PageState } from "../../../src/services/dashboard/page-state.js";
import { at, HOSTS, installOf } from "./fixture.js";

const fold = (events: Parameters<typeof foldEvent>[1][]): PageState =>
  events.reduce(foldEvent, initialPageState("edge", HOSTS));

const row = (state: PageState, name: string) => state.hosts.find((h) => h.name === name);

test("every host starts listed, not Ready, with nothing reached", () => {
  const state = initialPageState("edge", HOSTS);
  assert.deepEqual(
    state.hosts.map((h) => [h.name, h.ready, h.boot, h.phase]),
    HOSTS.map((h) => [h.name, false, undefined, undefined]),
  );
  assert.equal(state.run.outcome, "running");
});

test("install phases become the host's phase and bars on its timeline; the kube wait marks Ready", () => {
  const state = fold(installOf(["s1", "a1"], ["connect", "install"]));
  const s1 = row(state, "s1");
  assert.equal(s1?.phase, "install");
  assert.equal(s1?.phaseDone, true);
  assert.deepEqual(
    s1?.timeline.map((bar) => [bar.phase, bar.outcome, (bar.end ?? 0) - bar.start]),
    [
      ["connect", "done", 1000],
      ["install", "done", 1000],
    ],
  );
  assert.deepEqual(
    state.hosts.map((h) => h.ready),
    [true, false, true],
  );
});

test("a host the kube wait no longer names is not Ready any more", () => {
  const state = fold([
    at({ kind: "kube.wait", message: "waiting", detail: { ready: ["s1", "s2"] } }),
    at({ kind: "kube.wait", message: "waiting for s2", detail: { ready: ["s1"] } }),
  ]);
  assert.deepEqual(
    state.hosts.map((h) => h.ready),
    [true, false, false],
  );
});

test("a failed phase ends its bar as failed and becomes the host's last error, in words", () => {
  const state = fold([
    at({ kind: "install.host.start", host: "s2", phase: "install", message: "started" }),
    at({ kind: "install.host.fail", host: "s2", phase: "install", level: "error", message: "rke2 did not start" }),
  ]);
  const s2 = row(state, "s2");
  assert.equal(s2?.timeline[0]?.outcome, "failed");
  assert.equal(s2?.lastError, "install: rke2 did not start");
  assert.equal(s2?.phaseDone, false);
});

test("boot steps are matched by MAC (any case) and only ever move forward", () => {
  const mac = "52:54:00:77:00:21";
  const state = fold([
    at({ kind: "dhcp.proxy-offer", service: "dhcp", message: "offer", detail: { mac } }),
    at({ kind: "boot.ignition", message: "Ignition served", detail: { mac: mac.toUpperCase() } }),
    at({ kind: "boot.ipxe", message: "iPXE script served", detail: { mac } }),
  ]);
  assert.equal(row(state, "a1")?.boot, "Ignition");
  const booted = foldEvent(
    state,
    at({ kind: "boot.report", message: "reported", detail: { mac, status: "first-boot-done", ignition: "success" } }),
  );
  assert.equal(row(booted, "a1")?.boot, "first boot");
  assert.equal(row(booted, "s1")?.boot, undefined);
});

test("an unknown MAC or host changes no row", () => {
  const before = initialPageState("edge", HOSTS);
  const after = foldEvent(before, at({ kind: "boot.ipxe", message: "x", detail: { mac: "52:54:00:00:00:99" } }));
  assert.equal(after.hosts, before.hosts);
});

test("the kubeconfig path and the run's end make the summary", () => {
  const state = fold([
    at({
      kind: "install.kubeconfig",
      host: "s1",
      message: "kubeconfig saved",
      detail: { path: "/site/.airstrap/kubeconfig" },
    }),
    at({
      kind: "run.end",
      message: "3 nodes Ready",
      detail: { ok: true, next: ["export KUBECONFIG=/site/.airstrap/kubeconfig", "kubectl get nodes"] },
    }),
  ]);
  assert.deepEqual(state.run, {
    outcome: "complete",
    message: "3 nodes Ready",
    kubeconfig: "/site/.airstrap/kubeconfig",
    nextCommands: ["export KUBECONFIG=/site/.airstrap/kubeconfig", "kubectl get nodes"],
  });
});

test("node probes after the run draw the panels and leave the timeline's span alone", () => {
  const run = fold(installOf(["s1"], ["configure"]));
  const probed = foldEvent(
    run,
    at({ kind: "node.sample", host: "s1", message: "probed", detail: { at: 1, servicesUp: true, dnsUp: true } }),
  );
  assert.equal(probed.lastEventAt, run.lastEventAt);
  assert.equal(probed.startedAt, run.startedAt);
  assert.deepEqual(probed.nodes[0]?.lines, [{ state: "ok", text: "DNS answering" }]);
});
