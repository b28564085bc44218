import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { type AirstrapEvent, createEvents, type Events } from "../../src/events.js";
import { type KnownHosts, openKnownHosts } from "../../src/hosts/known-hosts.js";
import { type SshHostOptions, sshHost } from "../../src/hosts/ssh-host.js";
import { openStateDir, type StateDir } from "../../src/state/state-dir.js";
import type { Sshd } from "../peers/sshd.js";

/** A state dir, an event recorder and known_hosts for one test, removed afterwards. */
export interface HostsFixture {
  dir: string;
  state: StateDir;
  events: Events;
  recorded: AirstrapEvent[];
  knownHosts: KnownHosts;
  /** A Host for that sshd as root with its client key; overrides go last. */
  host(sshd: Sshd, overrides?: Partial<SshHostOptions>): ReturnType<typeof sshHost>;
}

export async function hostsFixture(t: TestContext): Promise<HostsFixture> {
  const dir = await mkdtemp(join(tmpdir(), "airstrap-hosts-test-"));
  const state = await openStateDir(join(dir, ".airstrap"));
  const events = createEvents();
  const recorded: AirstrapEvent[] = [];
  events.subscribe((event) => recorded.push(event));
  const knownHosts = openKnownHosts(state, events);
  const opened: Array<ReturnType<typeof sshHost>> = [];
  t.after(async () => {
    await Promise.all(opened.map((host) => host.close()));
    await rm(dir, { recursive: true, force: true });
  });
  return {
    dir,
    state,
    events,
    recorded,
    knownHosts,
    host(sshd, overrides = {}) {
      const host = sshHost({
        name: "target",
        address: sshd.address,
        port: sshd.port,
        user: "root",
        identityFile: sshd.clientKey,
        sudo: true,
        baseDir: dir,
        knownHosts,
        events,
        env: {},
        ...overrides,
      });
      opened.push(host);
      return host;
    },
  };
}

/** `seq 1 3000000` kept under `cap`: its first and last lines, and a marker saying how much is missing. */
export function assertCapped(text: string, cap: number): void {
  const total = Array.from({ length: 3_000_000 }, (_, i) => String(i + 1).length + 1).reduce((a, b) => a + b, 0);
  const marker = text.match(/\n\[airstrap: (\d+) bytes left out here: the command printed (\d+) bytes[^\]]*\]\n/);
  assert.ok(marker, "the gap is marked");
  assert.equal(Number(marker[2]), total);
  assert.equal(Number(marker[1]), total - cap);
  assert.equal(Buffer.byteLength(text) - marker[0].length, cap);
  assert.ok(text.startsWith("1\n2\n3\n"));
  assert.ok(text.endsWith("2999999\n3000000\n"));
}
