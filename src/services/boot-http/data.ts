import { normalizeMac } from "./mac.js";
import type { Labels } from "./select.js";

/**
 * The JSON shapes of a Matchbox data folder (`groups/<name>.json`, `profiles/<id>.json`), read and
 * checked here. Every problem is a sentence naming the file and the field, thrown as DataError.
 */

export interface Group {
  /** The file it came from, relative to the data folder ("groups/node1.json"). */
  file: string;
  id: string;
  name?: string;
  profile: string;
  /** MAC selectors normalized to lowercase colon form. */
  selector: Labels;
  /** Free-form JSON object: the template variables and /metadata of the machines it selects. */
  metadata: Record<string, unknown>;
}

export interface BootSpec {
  kernel?: string;
  initrd: string[];
  args: string[];
}

export interface Profile {
  file: string;
  id: string;
  name?: string;
  ignitionId?: string;
  genericId?: string;
  boot: BootSpec;
}

export class DataError extends Error {
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = "DataError";
  }
}

/** Matchbox does not insist on a group's id when it reads a file; without one, the file name is the id. */
export function parseGroup(text: string, file: string): Group {
  const json = objectOf(text, file);
  const id = optionalString(json, "id", file) ?? file.replace(/^.*\//, "").replace(/\.json$/, "");
  const profile = requiredString(json, "profile", file);
  const selector = stringMap(json.selector, "selector", file);
  for (const [key, value] of Object.entries(selector)) {
    if (key.toLowerCase() !== "mac") continue;
    const mac = normalizeMac(value);
    if (mac === undefined) throw new DataError(file, `selector.${key} "${value}" is not a MAC address`);
    selector[key] = mac;
  }
  if (json.metadata !== undefined && json.metadata !== null && !isObject(json.metadata)) {
    throw new DataError(file, "metadata must be a JSON object");
  }
  const name = optionalString(json, "name", file);
  return {
    file,
    id,
    ...(name === undefined ? {} : { name }),
    profile,
    selector,
    metadata: isObject(json.metadata) ? json.metadata : {},
  };
}

export function parseProfile(text: string, file: string): Profile {
  const json = objectOf(text, file);
  const id = requiredString(json, "id", file);
  const boot = json.boot ?? {};
  if (!isObject(boot)) throw new DataError(file, "boot must be a JSON object with kernel, initrd and args");
  const name = optionalString(json, "name", file);
  const ignitionId = optionalString(json, "ignition_id", file);
  const genericId = optionalString(json, "generic_id", file);
  const kernel = optionalString(boot, "kernel", file, "boot.");
  return {
    file,
    id,
    ...(name === undefined ? {} : { name }),
    ...(ignitionId === undefined ? {} : { ignitionId }),
    ...(genericId === undefined ? {} : { genericId }),
    boot: {
      ...(kernel === undefined ? {} : { kernel }),
      initrd: stringList(boot.initrd, "boot.initrd", file),
      args: stringList(boot.args, "boot.args", file),
    },
  };
}

function objectOf(text: string, file: string): Record<string, unknown> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new DataError(file, `not valid JSON (${(error as Error).message})`);
  }
  if (!isObject(json)) throw new DataError(file, "expected a JSON object");
  return json;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function requiredString(json: Record<string, unknown>, key: string, file: string): string {
  const value = json[key];
  if (typeof value !== "string" || value === "") throw new DataError(file, `"${key}" is required (a non-empty string)`);
  return value;
}

function optionalString(json: Record<string, unknown>, key: string, file: string, prefix = ""): string | undefined {
  const value = json[key];
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value !== "string") throw new DataError(file, `${prefix}${key} must be a string`);
  return value;
}

function stringMap(value: unknown, key: string, file: string): Labels {
  if (value === undefined || value === null) return {};
  if (!isObject(value)) throw new DataError(file, `${key} must be a JSON object of strings`);
  const map: Labels = {};
  for (const [name, entry] of Object.entries(value)) {
    if (typeof entry !== "string") throw new DataError(file, `${key}.${name} must be a string`);
    map[name] = entry;
  }
  return map;
}

function stringList(value: unknown, key: string, file: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every((entry) => typeof entry === "string")) {
    throw new DataError(file, `${key} must be a list of strings`);
  }
  return value;
}
