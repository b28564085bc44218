import { once } from "node:events";
import net from "node:net";
import { parseArgs } from "node:util";
import type { Browser, Page } from "playwright-core";
import { createEvents } from "../../src/events.js";
import { DASHBOARD_DEFAULTS } from "../../src/services/dashboard/config.js";
import { startDashboard } from "../../src/services/dashboard/service.js";
import { launchChromium } from "../../test/peers/chromium.js";
import { nodeWithStatus } from "../../test/services/dashboard/fixture.js";
import { SIMULATED_STAGES, simulatedHosts, simulateRun } from "./simulated-run.js";

/**
 * The status page's cost: bytes of its first load, and this process's CPU during a simulated
 * 15-host install with no dashboard, then with the dashboard and 10 browsers watching (the
 * browsers are other processes; their CPU is not the server's). `--screenshot FILE` saves the
 * page at the end of the watched run (docs/dashboard.md's picture).
 */
const { values: options } = parseArgs({
  options: {
    screenshot: { type: "string" },
    browsers: { type: "string", default: "10" },
    "step-ms": { type: "string", default: "1000" },
  },
});
const stepMs = Number(options["step-ms"]);
const hosts = simulatedHosts(15);

async function cpuDuring<T>(work: () => Promise<T>): Promise<{ result: T; cpuMs: number; wallMs: number }> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  const result = await work();
  const used = process.cpuUsage(cpu);
  return { result, cpuMs: (used.user + used.system) / 1000, wallMs: performance.now() - start };
}

const browser = await launchChromium();
if (browser === undefined) {
  console.log("SKIP: chromium is not installed (Debian package chromium)");
  process.exit(77);
}
try {
  const bare = await cpuDuring(() => simulateRun(createEvents(), hosts, stepMs));
  const watched = await watchedRun(browser, Number(options.browsers));
  const row = (name: string, r: { cpuMs: number; wallMs: number }) =>
    `${name.padEnd(34)} cpu ${r.cpuMs.toFixed(0).padStart(6)} ms over ${(r.wallMs / 1000).toFixed(1)} s = ${((r.cpuMs / r.wallMs) * 100).toFixed(2)}% of one CPU`;
  console.log(`events in the run: ${bare.result}`);
  console.log(row("install, no dashboard", bare));
  console.log(row(`install, dashboard + ${options.browsers} browsers`, watched));
  console.log(
    `the dashboard's share: ${(((watched.cpuMs - bare.cpuMs) / watched.wallMs) * 100).toFixed(2)}% of one CPU`,
  );
  console.log(`first load: ${watched.result.firstLoadBytes} bytes transferred (${watched.result.files} files, gzip)`);
} finally {
  await browser.close();
}

async function watchedRun(browser: Browser, count: number) {
  // One node's services behind its status listener (DNS, and an LB with a backend that answers and one that does not).
  const backend = net.createServer((socket) => socket.end()).listen(0, "127.0.0.1");
  await once(backend, "listening");
  const closed = net.createServer().listen(0, "127.0.0.1");
  await once(closed, "listening");
  const closedPort = (closed.address() as net.AddressInfo).port;
  closed.close();
  const events = createEvents();
  const node = await nodeWithStatus(
    [
      { name: hosts[0]?.name ?? "s1", address: "127.0.0.1", port: (backend.address() as net.AddressInfo).port },
      { name: hosts[1]?.name ?? "s2", address: "127.0.0.1", port: closedPort },
    ],
    events,
  );
  const dashboard = await startDashboard(
    {
      listen: { address: "127.0.0.1", port: 0 },
      site: "edge",
      hosts,
      stages: SIMULATED_STAGES,
      nodes: [{ host: hosts[3]?.name ?? "a1", status: node.statusUrl }],
      ...DASHBOARD_DEFAULTS,
      probeIntervalMs: 1000,
    },
    events,
  );
  const pages: Page[] = [];
  try {
    const first = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    pages.push(first);
    let firstLoadBytes = 0;
    let files = 0;
    first.on("requestfinished", async (request) => {
      const sizes = await request.sizes();
      firstLoadBytes += sizes.responseBodySize + sizes.responseHeadersSize;
      files += 1;
    });
    await first.goto(dashboard.url, { waitUntil: "load" });
    for (let i = 1; i < count; i += 1) {
      const page = await browser.newPage();
      await page.goto(dashboard.url, { waitUntil: "load" });
      pages.push(page);
    }
    const measured = await cpuDuring(() => simulateRun(events, hosts, stepMs));
    if (options.screenshot !== undefined) {
      await first.waitForTimeout(2500);
      await first.screenshot({ path: options.screenshot, fullPage: true });
    }
    return { ...measured, result: { firstLoadBytes, files } };
  } finally {
    for (const page of pages) await page.close();
    await dashboard.close();
    await node.close();
    backend.close();
  }
}
