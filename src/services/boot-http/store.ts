import { readdir, readFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { OperatorError } from "../../errors.js";
import { DataError, type Group, type Profile, parseGroup, parseProfile } from "./data.js";
import { parseTemplate, type Template } from "./generic.js";
import { selectorString, sortGroups } from "./select.js";

/**
 * One Matchbox data folder read whole into memory: what a request is answered from. A reload reads
 * a new one beside the old and swaps it in only when every file in it is good.
 */
export interface BootData {
  /** Most specific first: the order selection tries them in. */
  groups: Group[];
  /** By file name without ".json" (Matchbox looks a group's profile up as profiles/<profile>.json). */
  profiles: Map<string, Profile>;
  /** `.ign`/`.ignition` files as their exact bytes, and other (Butane template) files, by path under ignition/. */
  ignition: Map<string, Buffer>;
  generic: Map<string, Template>;
  /** Every MAC some group selects: the machines that may report their first boot. */
  knownMacs: Set<string>;
}

export interface LoadOptions {
  /**
   * Allow a group with an empty selector (it matches every machine). Off by default: with it, a
   * machine nobody listed would get a config.
   */
  allowCatchAll: boolean;
}

export function isIgnitionJson(name: string): boolean {
  return name.endsWith(".ign") || name.endsWith(".ignition");
}

export async function loadBootData(dataDir: string, options: LoadOptions): Promise<BootData> {
  try {
    const groups = await readJsonFolder(dataDir, "groups", parseGroup, true);
    const profileList = await readJsonFolder(dataDir, "profiles", parseProfile, false);
    const profiles = new Map(profileList.map((profile) => [basename(profile.file, ".json"), profile]));
    for (const profile of profileList) {
      if (profile.id !== basename(profile.file, ".json")) {
        throw new DataError(
          profile.file,
          `id "${profile.id}" differs from the file name (a group names its profile by file)`,
        );
      }
    }
    checkGroups(groups, profiles, options);
    const ignition = new Map<string, Buffer>();
    for (const [name, bytes] of await readFiles(dataDir, "ignition")) {
      if (isIgnitionJson(name)) checkJson(bytes, `ignition/${name}`);
      ignition.set(name, bytes);
    }
    const generic = new Map<string, Template>();
    for (const [name, bytes] of await readFiles(dataDir, "generic")) {
      try {
        generic.set(name, parseTemplate(bytes.toString("utf8")));
      } catch (error) {
        throw new DataError(`generic/${name}`, (error as Error).message);
      }
    }
    const knownMacs = new Set(
      groups.flatMap((group) =>
        Object.entries(group.selector)
          .filter(([key]) => key.toLowerCase() === "mac")
          .map(([, mac]) => mac),
      ),
    );
    return { groups: sortGroups(groups), profiles, ignition, generic, knownMacs };
  } catch (error) {
    if (error instanceof DataError) {
      throw new OperatorError(`boot data ${join(dataDir, error.message)}`, {
        hint: "fix the file (or regenerate the folder with airstrap generate); the data served before stays in place",
        cause: error,
      });
    }
    throw error;
  }
}

function checkGroups(groups: Group[], profiles: Map<string, Profile>, options: LoadOptions): void {
  const bySelector = new Map<string, Group>();
  for (const group of groups) {
    if (!profiles.has(group.profile)) {
      throw new DataError(group.file, `profile "${group.profile}" does not exist (no profiles/${group.profile}.json)`);
    }
    if (!options.allowCatchAll && Object.keys(group.selector).length === 0) {
      throw new DataError(
        group.file,
        "an empty selector matches every machine, so a machine nobody listed would boot with this config (allow it with --allow-catch-all)",
      );
    }
    const key = selectorString(group.selector);
    const twin = bySelector.get(key);
    if (twin)
      throw new DataError(group.file, `selects the same machines as ${twin.file} (which one wins would be chance)`);
    bySelector.set(key, group);
  }
}

function checkJson(bytes: Buffer, file: string): void {
  try {
    JSON.parse(bytes.toString("utf8"));
  } catch (error) {
    throw new DataError(file, `not valid JSON (${(error as Error).message})`);
  }
}

async function readJsonFolder<T>(
  dataDir: string,
  folder: string,
  parse: (text: string, file: string) => T,
  required: boolean,
): Promise<T[]> {
  const names = await listFiles(dataDir, folder, required);
  const items: T[] = [];
  for (const name of names.filter((n) => n.endsWith(".json") && !n.includes("/"))) {
    items.push(parse((await readData(dataDir, `${folder}/${name}`)).toString("utf8"), `${folder}/${name}`));
  }
  return items;
}

async function readFiles(dataDir: string, folder: string): Promise<[string, Buffer][]> {
  const names = await listFiles(dataDir, folder, false);
  return Promise.all(
    names.map(async (name) => [name, await readData(dataDir, `${folder}/${name}`)] as [string, Buffer]),
  );
}

/** A file of the folder; one that vanished or may not be read is named like any other bad file. */
async function readData(dataDir: string, file: string): Promise<Buffer> {
  try {
    return await readFile(join(dataDir, file));
  } catch (error) {
    throw new DataError(file, `cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}

/** Regular files under a folder, as paths relative to it ("/"-separated), sorted; dotfiles (editor leftovers) skipped. */
async function listFiles(dataDir: string, folder: string, required: boolean): Promise<string[]> {
  try {
    const entries = await readdir(join(dataDir, folder), { recursive: true, withFileTypes: true });
    return entries
      .filter((entry) => entry.isFile())
      .map((entry) => join(entry.parentPath ?? entry.path, entry.name).slice(join(dataDir, folder).length + 1))
      .filter((name) => !name.split("/").some((part) => part.startsWith(".")))
      .sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    if (required) {
      throw new OperatorError(`boot data ${dataDir}: no ${folder}/ folder`, {
        hint: "point --data at a Matchbox data folder (groups/, profiles/, ignition/, generic/)",
      });
    }
    return [];
  }
}
