import { randomBytes } from "node:crypto";
import type { AirstrapEvent, Events } from "../../events.js";
import { formatEndpoint } from "../../net/endpoint.js";
import { explainBindError } from "../bind-error.js";
import type { RunningService } from "../service.js";
import type { DashboardConfig } from "./config.js";
import { Journal } from "./journal.js";
import { probeNodes } from "./node-probe.js";
import { foldEvent, initialPageState, type PageState } from "./page-state.js";
import { DashboardServer } from "./server.js";

/**
 * The live status page of a site: folds the run's events (the same stream the terminal views
 * read) into the page's state and serves it to browsers. `history` is what happened before it
 * started (a finished run's log from the state dir), folded first.
 */
export interface RunningDashboard extends RunningService<DashboardConfig> {
  /** The page's address for a browser, with the token when one is needed. */
  readonly url: string;
  /** Browsers watching now. */
  readonly watchers: number;
  state(): PageState;
}

export async function startDashboard(
  config: DashboardConfig,
  events: Events,
  history: AirstrapEvent[] = [],
): Promise<RunningDashboard> {
  let current = config;
  let state = initialPageState(config.site, config.hosts, config.stages);
  const journal = new Journal(randomBytes(6).toString("hex"), config.journalSize);
  let folded = 0;
  let pending: NodeJS.Timeout | undefined;
  const take = (event: AirstrapEvent) => {
    state = foldEvent(state, event);
    folded += 1;
    // Progress ticks and service probes change no row of the list; they would only crowd it.
    return event.kind.endsWith(".progress") || event.kind === "node.sample" ? undefined : journal.append(event);
  };
  for (const event of history) take(event);

  const server = new DashboardServer({
    token: () => current.token,
    state: () => JSON.stringify(state),
    resume: (lastId) => journal.resume(lastId),
  });
  let address: string;
  try {
    address = await server.listen(config.listen);
  } catch (error) {
    await server.close();
    throw explainBindError(
      error,
      "the dashboard",
      formatEndpoint(config.listen),
      "--listen",
      "choose another port with --listen",
    );
  }
  const unsubscribe = events.subscribe((event) => {
    const entry = take(event);
    if (entry !== undefined) server.pushLog(entry);
    // State goes out at most once per interval, however many events arrive.
    pending ??= setTimeout(() => {
      pending = undefined;
      server.pushState();
    }, current.pushIntervalMs);
  });
  const stopProbing = probeNodes(
    config.nodes,
    {
      intervalMs: config.probeIntervalMs,
      ...(config.registryCa === undefined ? {} : { registryCa: config.registryCa }),
    },
    events,
  );
  let closed: Promise<void> | undefined;
  return {
    addresses: [address],
    get url() {
      return `http://${address}/${current.token === undefined ? "" : `?token=${current.token}`}`;
    },
    ready: Promise.resolve(),
    get watchers() {
      return server.watchers;
    },
    state: () => state,
    async reload(next) {
      if (formatEndpoint(next.listen) !== formatEndpoint(current.listen))
        throw new Error("the dashboard cannot move to another address while it runs; restart it");
      current = next;
    },
    metrics: () =>
      [
        "# HELP airstrap_dashboard_watchers Browsers watching the status page now.",
        "# TYPE airstrap_dashboard_watchers gauge",
        `airstrap_dashboard_watchers ${server.watchers}`,
        "# HELP airstrap_dashboard_events_total Events folded into the page's state.",
        "# TYPE airstrap_dashboard_events_total counter",
        `airstrap_dashboard_events_total ${folded}`,
        "",
      ].join("\n"),
    close() {
      closed ??= (async () => {
        stopProbing();
        unsubscribe();
        // The last events' state goes out before the streams end: a run's final Ready must be seen.
        if (pending !== undefined) {
          clearTimeout(pending);
          server.pushState();
        }
        await server.close();
      })();
      return closed;
    },
  };
}
