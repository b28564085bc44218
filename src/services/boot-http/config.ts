import type { Endpoint } from "../../net/endpoint.js";
import { REPORT_MAX_BYTES } from "./report.js";

/**
 * The Matchbox-compatible HTTP boot server's configuration. A reload reads `dataDir` again (the
 * folder may have changed under the same config) and swaps it in only when every file is good;
 * the standalone runner triggers one on SIGHUP and when a file under `dataDir` changes.
 */
export interface BootHttpConfig {
  /** Where to listen (Matchbox's -address; several for several interfaces). */
  listen: Endpoint[];
  /** A Matchbox data folder: groups/, profiles/, ignition/, generic/ (Matchbox's -data-path). */
  dataDir: string;
  /** What /assets/ serves; absent = /assets/ is off (as Matchbox's -assets-path ""). */
  assets?: AssetSource;
  /**
   * Clients outside these networks (CIDR) get 403 for everything but /healthz; absent = any
   * client. A MAC is no secret, so on a shared network this is what keeps Ignition (and its join
   * token) to the provisioning subnet.
   */
  allowedNetworks?: string[];
  /** Allow a group with an empty selector (matches every machine); see store.ts. */
  allowCatchAll: boolean;
  /** Largest first-boot report body accepted. */
  reportMaxBytes: number;
  /** How long close() lets downloads in flight finish before cutting them. */
  drainTimeoutMs: number;
}

export type AssetSource =
  /** A folder (Matchbox's -assets-path): /assets/<path> is <folder>/<path>, never outside it. */
  | { kind: "dir"; path: string }
  /** Names resolved elsewhere (e.g. files of the artifact store); undefined = 404. */
  | { kind: "resolver"; resolve(name: string): Promise<string | undefined> };

export const BOOT_HTTP_DEFAULTS = {
  allowCatchAll: false,
  reportMaxBytes: REPORT_MAX_BYTES,
  drainTimeoutMs: 5000,
} as const;

/** Matchbox's default address (-address 127.0.0.1:8080); the site's boot address comes from the plan. */
export const BOOT_HTTP_DEFAULT_PORT = 8080;
