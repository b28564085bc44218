/**
 * Backend health as a pure state machine with rise/fall hysteresis. Active checks and passive
 * observations (failed connects, resets) feed the same failure streak, so a dead backend is marked
 * down by whichever notices first. Only a passing active check ends a streak or brings a backend
 * back up: a server that accepts connections and then resets them looks fine to every connect,
 * and one lucky connect to a flapping server must not return it to rotation.
 */
export type BackendState = "unchecked" | "up" | "down";

export interface Health {
  state: BackendState;
  /** Consecutive successful active checks. */
  successes: number;
  /** Consecutive failures, active or passive. */
  failures: number;
}

export interface Hysteresis {
  rise: number;
  fall: number;
}

export const initialHealth = (): Health => ({ state: "unchecked", successes: 0, failures: 0 });

/**
 * The first verdict is taken at once (there is no history to smooth yet, and a node that just
 * started should not wait rise × interval before it forwards anything); hysteresis applies after.
 */
export function afterCheck(health: Health, ok: boolean, { rise, fall }: Hysteresis): Health {
  if (ok) {
    const successes = health.successes + 1;
    const state = health.state === "unchecked" || successes >= rise ? "up" : health.state;
    return { state, successes, failures: 0 };
  }
  const failures = health.failures + 1;
  const state = health.state === "unchecked" || failures >= fall ? "down" : health.state;
  return { state, successes: 0, failures };
}

/** A connect that was refused or timed out, or an established connection the backend reset. */
export function afterConnectFailure(health: Health, { fall }: Hysteresis): Health {
  const failures = health.failures + 1;
  const state = health.state !== "down" && failures >= fall ? "down" : health.state;
  return { state, successes: 0, failures };
}
