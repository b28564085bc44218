import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { Browser } from "playwright-core";
import { createEvents } from "../../../src/events.js";
import { REDACTED, registerSecret } from "../../../src/secrets.js";
import { startDashboard } from "../../../src/services/dashboard/service.js";
import { launchChromium, NO_CHROMIUM } from "../../peers/chromium.js";
import { at, handOverOf, STAGES, stageEvent, testConfig } from "./fixture.js";

/** The secrets a site holds that an event could name by mistake: join token, push password, age key. */
const SECRETS = {
  joinToken: "K10f00dcafe1234567890abcdef::server:5e3f1a2b9c8d7e6f",
  pushPassword: 'push-P@ss"word-with\\quote',
  ageKey: "AGE-SECRET-KEY-1QQQPZRY9X8GF2TVDW0S3JN54KHCE6MUA7LQPZRY9X8GF2TVDW0S3JN54K",
};
const DASHBOARD_TOKEN = "dashboard-token-for-this-test-5678";

let browser: Browser | undefined;
before(async () => {
  browser = await launchChromium();
});
after(() => browser?.close());

test("no secret reaches the page: not in its HTML, its assets, the API or the event stream", async (t) => {
  for (const secret of [...Object.values(SECRETS), DASHBOARD_TOKEN]) registerSecret(secret);
  const leaky = (step: string) =>
    `${step} failed with ${SECRETS.joinToken}, ${SECRETS.pushPassword} and ${SECRETS.ageKey}`;
  // A log written by some other version, read back from the state dir as it is: the server must redact it itself.
  const history = [
    at({ kind: "install.host.fail", host: "s1", phase: "join", level: "error", message: leaky("join") }),
  ];
  const events = createEvents();
  const dashboard = await startDashboard(
    testConfig({ listen: { address: "127.0.0.2", port: 0 }, token: DASHBOARD_TOKEN, stages: STAGES }),
    events,
    history,
  );
  const cookie = { cookie: `airstrap_dashboard=${DASHBOARD_TOKEN}` };
  const base = `http://${dashboard.addresses[0]}`;
  try {
    events.emit({
      kind: "install.host.retry",
      host: "s2",
      phase: "registry",
      level: "warn",
      message: leaky("push"),
      detail: { password: SECRETS.pushPassword, key: SECRETS.ageKey },
    });
    // A gitops run whose stage and webhook lines carry them (a controller's message, a URL with credentials).
    for (const event of handOverOf("5f0c2a9e1b7d43c8a6e2f1d0b9c8a7e6f5d4c3b2")) events.emit(event);
    events.emit({
      kind: "gitops.webhook",
      level: "info",
      message: `git server webhook: http://airstrap:${SECRETS.pushPassword}@10.77.0.11:30090/hook/x`,
    });
    const failing = stageEvent("bootstrap", "failed", {
      ready: "False",
      reason: "BuildFailed",
      message: `decryption failed with ${SECRETS.ageKey}`,
      revision: `main@sha1:${SECRETS.joinToken}`,
    });
    events.emit(failing);
    const seen: string[] = [];
    for (const path of ["/", "/app.js", "/app.css", "/uplot.js", "/uplot.css", "/api/state", "/healthz"])
      seen.push(await (await fetch(`${base}${path}`, { headers: cookie })).text());
    seen.push(await firstChunkOfStream(`${base}/events`, cookie));
    if (browser === undefined) t.diagnostic(NO_CHROMIUM);
    else seen.push(await renderedPage(browser, dashboard.url));

    const everything = seen.join("\n");
    assert.ok(everything.includes(REDACTED), "the events carrying secrets did reach the page, redacted");
    assert.ok(everything.includes("failed: BuildFailed: decryption failed with"), "the failing stage's row is there");
    for (const [name, secret] of Object.entries({ ...SECRETS, dashboardToken: DASHBOARD_TOKEN })) {
      assert.ok(!everything.includes(secret), `${name} leaked`);
      assert.ok(!everything.includes(JSON.stringify(secret).slice(1, -1)), `${name} leaked JSON-escaped`);
    }
  } finally {
    await dashboard.close();
  }
});

/** What the server sends on connecting (the kept events and the state), then hang up. */
async function firstChunkOfStream(url: string, headers: Record<string, string>): Promise<string> {
  const controller = new AbortController();
  const response = await fetch(url, { headers, signal: controller.signal });
  const reader = response.body?.getReader();
  assert.ok(reader);
  let text = "";
  while (!text.includes("event: state")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += Buffer.from(value).toString("utf8");
  }
  controller.abort();
  return text;
}

/** The page as the browser shows it once the events are in (its DOM, serialized). */
async function renderedPage(browser: Browser, url: string): Promise<string> {
  const page = await browser.newPage();
  try {
    await page.goto(url);
    await page.waitForFunction(
      () =>
        document.querySelectorAll("#events li").length >= 2 &&
        document.querySelectorAll("[data-stage] .bad").length > 0,
      undefined,
      {
        timeout: 30_000,
      },
    );
    return await page.content();
  } finally {
    await page.close();
  }
}

declare const document: { querySelectorAll(selector: string): ArrayLike<unknown> };
