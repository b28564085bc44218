/**
 * The face every long-running network service of airstrap shows (DNS, LB, registry, PXE, git,
 * status): `start<Name>(config, events) → RunningService<Config>`.
 */
export interface RunningService<Config> {
  /** Where it actually listens, as "addr:port" (ports resolved when 0 was asked for). */
  readonly addresses: string[];
  /** Resolves once every listener is bound and the service answers. */
  readonly ready: Promise<void>;
  /** Swaps in a new configuration without dropping work in flight. */
  reload(config: Config): Promise<void>;
  /** Prometheus text exposition format. */
  metrics(): string;
  /** Stops accepting, drains what is in flight, releases every socket. Idempotent. */
  close(): Promise<void>;
}
