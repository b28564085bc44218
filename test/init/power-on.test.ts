import assert from "node:assert/strict";
import { test } from "node:test";
import { powerOnEnvironment, powerOnPrompt } from "../../src/init/power-on.js";
import { requireShell, runPowerOn } from "../../src/init/power-on-command.js";

const HOSTS = [
  { name: "k8s-server-01", mac: "52:54:00:77:00:11", address: "10.77.0.11", role: "primary-server" as const },
  { name: "k8s-agent-01", mac: "52:54:00:77:00:21", address: "10.77.0.21", role: "agent" as const },
];

test("the prompt lists each machine to power on by name, MAC and address, and what Ctrl-C does", () => {
  const text = powerOnPrompt(HOSTS, {
    alreadyUp: new Set(),
    bootServer: "http://10.77.0.1:8080",
    timeoutSeconds: 1800,
    file: "cluster.yaml",
  });
  assert.equal(
    text,
    [
      "Power on these 2 machines now, booting from the network (PXE):",
      "  k8s-server-01  52:54:00:77:00:11  10.77.0.11",
      "  k8s-agent-01   52:54:00:77:00:21  10.77.0.21",
      "The boot services answer on http://10.77.0.1:8080; waiting up to 1800 s for every machine.",
      "Ctrl-C stops the boot services; airstrap init -f cluster.yaml again carries on where it stopped.",
    ].join("\n"),
  );
});

test("on a re-run the prompt leaves out machines already up, and says when there is nothing to power on", () => {
  const options = { bootServer: "http://10.77.0.1:8080", timeoutSeconds: 60, file: "site.yaml" };
  const some = powerOnPrompt(HOSTS, { ...options, alreadyUp: new Set(["k8s-server-01"]) });
  assert.match(some, /^Power on this machine now, booting from the network \(PXE\):\n {2}k8s-agent-01 /);
  assert.match(some, /Already up \(answering SSH\), left as they are:\n {2}k8s-server-01 /);
  const none = powerOnPrompt(HOSTS, { ...options, alreadyUp: new Set(["k8s-server-01", "k8s-agent-01"]) });
  assert.match(none, /^Every machine is already up \(it answers SSH\): nothing to power on\./);
  assert.doesNotMatch(none, /Power on/);
});

test("a power-on command gets the machine's name, MAC, address and role in its environment", async () => {
  assert.deepEqual(powerOnEnvironment(HOSTS[1]!), {
    AIRSTRAP_HOST: "k8s-agent-01",
    AIRSTRAP_MAC: "52:54:00:77:00:21",
    AIRSTRAP_MAC_DASHES: "52-54-00-77-00-21",
    AIRSTRAP_ADDRESS: "10.77.0.21",
    AIRSTRAP_ROLE: "agent",
  });
  const ran = await runPowerOn(
    'echo "$AIRSTRAP_HOST $AIRSTRAP_MAC $AIRSTRAP_ADDRESS $AIRSTRAP_ROLE"',
    HOSTS[0]!,
    10_000,
  );
  assert.deepEqual(ran, {
    host: "k8s-server-01",
    code: 0,
    output: "k8s-server-01 52:54:00:77:00:11 10.77.0.11 primary-server",
  });
});

test("a failing power-on command reports its exit code and last output; one that hangs is stopped at its bound", async () => {
  const failed = await runPowerOn("echo no BMC at $AIRSTRAP_ADDRESS >&2; exit 3", HOSTS[1]!, 10_000);
  assert.equal(failed.code, 3);
  assert.equal(failed.output, "no BMC at 10.77.0.21");
  const hung = await runPowerOn("sleep 30", HOSTS[1]!, 200);
  assert.notEqual(hung.code, 0);
});

test("--power-on is refused up front where there is no sh on PATH (airstrap's image), and accepted where there is", () => {
  assert.throws(
    () => requireShell("/nonexistent:/also-not-here"),
    (error: Error & { hint?: string }) =>
      /--power-on needs a shell, and there is no sh on PATH \(\/nonexistent:\/also-not-here\)/.test(error.message) &&
      /image has no shell: power the machines on by hand/.test(error.hint ?? ""),
  );
  assert.throws(() => requireShell(""), /no sh on PATH \(empty\)/);
  assert.doesNotThrow(() => requireShell("/nonexistent:/usr/bin:/bin"));
});
