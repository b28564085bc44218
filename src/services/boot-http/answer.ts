import type { EventLevel } from "../../events.js";
import type { Group, Profile } from "./data.js";
import { renderTemplate } from "./generic.js";
import { BOOT_IPXE, renderIpxe } from "./ipxe.js";
import { renderMetadata } from "./metadata.js";
import { type Labels, labelsFromQuery, selectGroup } from "./select.js";
import { type BootData, isIgnitionJson } from "./store.js";
import { collectVariables } from "./variables.js";

/**
 * What a request gets, decided from the data alone (no sockets, no files): the HTTP layer only
 * carries it out. Every answer names the endpoint (for metrics) and, when the request matters, the
 * event to emit — which never carries a body (Ignition holds the join token).
 */

export interface BootRequest {
  method: string;
  /** The URL's path, still percent-encoded. */
  path: string;
  query: URLSearchParams;
  rawQuery: string;
}

export interface AnswerEvent {
  level: EventLevel;
  kind: string;
  message: string;
  detail: Record<string, unknown>;
}

export type Answer =
  | { kind: "reply"; endpoint: string; status: number; contentType: string; body: string | Buffer; event?: AnswerEvent }
  /** Serve a file of the assets (the part of the path after /assets/, still encoded). */
  | { kind: "asset"; endpoint: "assets"; name: string }
  /** Read the report body of a known machine, then answer with report.ts. */
  | { kind: "report"; endpoint: "report"; mac: string; group: Group };

export const TEXT = "text/plain; charset=utf-8";
export const IGNITION_CONTENT_TYPE = "application/vnd.coreos.ignition+json";
/** Matchbox's own (misspelt) content type of /metadata is "plain/text"; ours is the real one. */
const METADATA_CONTENT_TYPE = TEXT;

const MACHINE_ENDPOINTS = new Set(["/ipxe", "/ignition", "/metadata", "/generic"]);

export function answer(data: BootData, request: BootRequest): Answer {
  const { path } = request;
  if (path === "/report") return answerReportRequest(data, request);
  if (request.method !== "GET" && request.method !== "HEAD") {
    return reply(endpointOf(path), 405, "GET or HEAD only\n");
  }
  if (path === "/") return reply("home", 200, "matchbox\n");
  if (path === "/boot.ipxe" || path === "/boot.ipxe.0") {
    return reply("boot.ipxe", 200, BOOT_IPXE, TEXT, {
      level: "debug",
      kind: "boot.chain",
      message: `${path} served`,
      detail: {},
    });
  }
  if (path.startsWith("/assets/")) return { kind: "asset", endpoint: "assets", name: path.slice("/assets/".length) };
  if (!MACHINE_ENDPOINTS.has(path)) return reply("other", 404, "404 page not found\n");
  const endpoint = path.slice(1);
  const labels = labelsFromQuery(request.query);
  const group = selectGroup(data.groups, labels);
  if (!group) {
    return reply(endpoint, 404, "404 page not found\n", TEXT, {
      level: "warn",
      kind: "boot.unknown",
      message: `${path}: no group selects ${describe(labels)}`,
      detail: { endpoint, labels },
    });
  }
  // The store refuses a group whose profile is missing, so this is there.
  const profile = data.profiles.get(group.profile) as Profile;
  const machine = { endpoint, ...machineOf(labels), group: group.id, profile: profile.id, labels };
  const missing = (problem: string) =>
    reply(endpoint, 404, "404 page not found\n", TEXT, {
      level: "warn",
      kind: "boot.missing",
      message: `${path} for ${describe(labels)}: ${problem}`,
      detail: { ...machine, problem },
    });
  const served = (kind: string, what: string, contentType: string, body: string | Buffer) =>
    reply(endpoint, 200, body, contentType, {
      level: "info",
      kind,
      message: `${what} served to ${describe(labels)} (group ${group.id}, profile ${profile.id})`,
      detail: { ...machine, bytes: Buffer.byteLength(body) },
    });

  switch (path) {
    case "/ipxe": {
      const { kernel } = profile.boot;
      if (kernel === undefined) return missing(`profile ${profile.file} has no boot.kernel`);
      return served("boot.ipxe", "iPXE script", TEXT, renderIpxe({ ...profile.boot, kernel }));
    }
    case "/ignition": {
      if (profile.ignitionId === undefined) return missing(`profile ${profile.file} has no ignition_id`);
      const bytes = data.ignition.get(profile.ignitionId);
      if (bytes === undefined) return missing(`no file ignition/${profile.ignitionId}`);
      if (!isIgnitionJson(profile.ignitionId)) {
        return missing(
          `ignition/${profile.ignitionId} is a Butane template; only .ign/.ignition (Ignition JSON) is served`,
        );
      }
      return served("boot.ignition", `Ignition ${profile.ignitionId}`, IGNITION_CONTENT_TYPE, bytes);
    }
    case "/metadata":
      return served(
        "boot.metadata",
        "metadata",
        METADATA_CONTENT_TYPE,
        renderMetadata(variablesOf(group, labels, request)),
      );
    default: {
      if (profile.genericId === undefined) return missing(`profile ${profile.file} has no generic_id`);
      const template = data.generic.get(profile.genericId);
      if (template === undefined) return missing(`no file generic/${profile.genericId}`);
      const rendered = renderTemplate(template, variablesOf(group, labels, request));
      if (!rendered.ok) return missing(`generic/${profile.genericId}: ${rendered.problem}`);
      return served("boot.generic", `generic/${profile.genericId}`, TEXT, rendered.text);
    }
  }
}

function answerReportRequest(data: BootData, request: BootRequest): Answer {
  if (request.method !== "POST") return reply("report", 405, "POST only\n");
  const labels = labelsFromQuery(request.query);
  const mac = labels.mac;
  const group =
    mac === undefined || !data.knownMacs.has(mac)
      ? undefined
      : (selectGroup(data.groups, labels) ??
        data.groups.find((g) =>
          Object.entries(g.selector).some(([key, value]) => key.toLowerCase() === "mac" && value === mac),
        ));
  if (mac === undefined || group === undefined) {
    return reply("report", 404, "unknown machine\n", TEXT, {
      level: "warn",
      kind: "boot.report.refused",
      message: `first-boot report from ${describe(labels)} refused: not a machine of the boot data`,
      detail: { labels },
    });
  }
  return { kind: "report", endpoint: "report", mac, group };
}

function variablesOf(group: Group, labels: Labels, request: BootRequest): Record<string, unknown> {
  return collectVariables(group, labels, request.rawQuery);
}

function machineOf(labels: Labels): Record<string, string> {
  return Object.fromEntries(
    ["mac", "uuid", "hostname"].filter((key) => key in labels).map((key) => [key, labels[key]!]),
  );
}

/**
 * A machine as an event names it: its MAC when it gave one, else its labels — with control
 * characters escaped, since anyone on the network chooses them and they end up on a terminal.
 */
export function describe(labels: Labels): string {
  if (labels.mac) return labels.mac;
  const pairs = Object.entries(labels).map(([key, value]) => `${key}=${value}`);
  if (pairs.length === 0) return "a machine without labels";
  return pairs
    .join(" ")
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

function endpointOf(path: string): string {
  return MACHINE_ENDPOINTS.has(path) ? path.slice(1) : "other";
}

function reply(
  endpoint: string,
  status: number,
  body: string | Buffer,
  contentType = TEXT,
  event?: AnswerEvent,
): Answer {
  return { kind: "reply", endpoint, status, contentType, body, ...(event ? { event } : {}) };
}
