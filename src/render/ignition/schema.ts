import { z } from "zod";

/**
 * Ignition config spec 3.3.0 and 3.4.0 (the versions airstrap writes), every field, strict: an
 * unknown key is an error, as a misspelt key would otherwise be ignored by Ignition on the node.
 * Only LUKS `discard` and `openOptions` are new in 3.4.0. Beyond the types, the rules Ignition
 * itself applies before it touches a disk: absolute paths, unit names with a unit type, URLs
 * Ignition can fetch, hashes it can check, one entry per path.
 */
export const IGNITION_SPEC_VERSIONS = ["3.3.0", "3.4.0"] as const;

const optional = <T extends z.ZodType>(type: T) => type.nullable().optional();
const text = optional(z.string());
const flag = optional(z.boolean({ error: "must be true or false" }));
const integer = optional(z.int({ error: "must be a whole number" }));
const strings = z.array(z.string()).optional();
const absolutePath = z.string().regex(/^\//, "must be an absolute path");
const SOURCE = /^(data:|https?:\/\/|tftp:\/\/|s3:\/\/|gs:\/\/|arn:)/;
const HASH = /^(sha512-[0-9a-f]{128}|sha256-[0-9a-f]{64})$/;
const UNIT_NAME =
  /^[A-Za-z0-9:_.\\@-]+\.(service|socket|device|mount|automount|swap|target|path|timer|snapshot|slice|scope)$/;

const resource = z.strictObject({
  source: optional(z.string().regex(SOURCE, "must be a data:, http(s)://, tftp://, s3://, gs:// or arn: URL")),
  compression: optional(z.enum(["gzip", ""], { error: 'must be "gzip" or empty' })),
  httpHeaders: z.array(z.strictObject({ name: z.string().min(1), value: text })).optional(),
  verification: z
    .strictObject({
      hash: optional(z.string().regex(HASH, "must be sha512-<128 hex digits> or sha256-<64 hex digits>")),
    })
    .optional(),
});

const owner = z.strictObject({ id: integer, name: text }).optional();
const node = { path: absolutePath, overwrite: flag, user: owner, group: owner };
const mode = optional(z.int({ error: "must be a whole number (in YAML: 0o644)" }).min(0).max(0o7777));

const partition = z.strictObject({
  label: text,
  number: z.int().optional(),
  sizeMiB: integer,
  startMiB: integer,
  typeGuid: text,
  guid: text,
  wipePartitionEntry: flag,
  shouldExist: flag,
  resize: flag,
});

const tang = z.strictObject({ url: z.string(), thumbprint: text, advertisement: text });

const luks = z.strictObject({
  name: z.string(),
  label: text,
  uuid: text,
  device: text,
  keyFile: resource.optional(),
  wipeVolume: flag,
  clevis: z
    .strictObject({
      custom: z.strictObject({ pin: text, config: text, needsNetwork: flag }).optional(),
      tpm2: flag,
      tang: z.array(tang).optional(),
      threshold: integer,
    })
    .optional(),
  options: strings,
  discard: flag,
  openOptions: strings,
});

const storage = z.strictObject({
  disks: z
    .array(z.strictObject({ device: z.string(), wipeTable: flag, partitions: z.array(partition).optional() }))
    .optional(),
  raid: z
    .array(z.strictObject({ name: z.string(), level: text, spares: integer, devices: strings, options: strings }))
    .optional(),
  luks: z.array(luks).optional(),
  filesystems: z
    .array(
      z.strictObject({
        path: optional(absolutePath),
        device: z.string(),
        format: text,
        options: strings,
        mountOptions: strings,
        wipeFilesystem: flag,
        label: text,
        uuid: text,
      }),
    )
    .optional(),
  files: z
    .array(z.strictObject({ ...node, mode, contents: resource.optional(), append: z.array(resource).optional() }))
    .optional(),
  directories: z.array(z.strictObject({ ...node, mode })).optional(),
  links: z.array(z.strictObject({ ...node, target: text, hard: flag })).optional(),
});

const unit = z.strictObject({
  name: z.string().regex(UNIT_NAME, "must be a unit name with its type, like airstrap-node.service"),
  enabled: flag,
  mask: flag,
  contents: text,
  dropins: z
    .array(z.strictObject({ name: z.string().regex(/\.conf$/, "a drop-in's name ends in .conf"), contents: text }))
    .optional(),
});

/** What users and groups share. */
const account = { name: z.string().min(1), passwordHash: text, system: flag, shouldExist: flag };

const user = z.strictObject({
  ...account,
  sshAuthorizedKeys: strings,
  uid: integer,
  gecos: text,
  homeDir: text,
  noCreateHome: flag,
  primaryGroup: text,
  groups: strings,
  noUserGroup: flag,
  noLogInit: flag,
  shell: text,
});

const group = z.strictObject({ ...account, gid: integer });

export const ignitionConfigSchema = z
  .strictObject({
    ignition: z.strictObject({
      version: z.enum(IGNITION_SPEC_VERSIONS),
      config: z.strictObject({ merge: z.array(resource).optional(), replace: resource.optional() }).optional(),
      timeouts: z.strictObject({ httpResponseHeaders: integer, httpTotal: integer }).optional(),
      security: z
        .strictObject({ tls: z.strictObject({ certificateAuthorities: z.array(resource).optional() }).optional() })
        .optional(),
      proxy: z.strictObject({ httpProxy: text, httpsProxy: text, noProxy: strings }).optional(),
    }),
    storage: storage.optional(),
    systemd: z.strictObject({ units: z.array(unit).optional() }).optional(),
    passwd: z.strictObject({ users: z.array(user).optional(), groups: z.array(group).optional() }).optional(),
    kernelArguments: z.strictObject({ shouldExist: strings, shouldNotExist: strings }).optional(),
  })
  .superRefine((config, ctx) => {
    const storage = config.storage;
    const seen = new Map<string, string>();
    for (const kind of ["files", "directories", "links"] as const) {
      (storage?.[kind] ?? []).forEach((entry, index) => {
        const first = seen.get(entry.path);
        if (first !== undefined)
          ctx.addIssue({
            code: "custom",
            path: ["storage", kind, index, "path"],
            message: `${entry.path} is written twice (also storage.${first})`,
          });
        else seen.set(entry.path, `${kind}[${index}]`);
      });
    }
    const units = new Set<string>();
    (config.systemd?.units ?? []).forEach((entry, index) => {
      if (units.has(entry.name))
        ctx.addIssue({
          code: "custom",
          path: ["systemd", "units", index, "name"],
          message: `unit ${entry.name} appears twice`,
        });
      units.add(entry.name);
    });
    if (config.ignition.version === "3.3.0")
      (storage?.luks ?? []).forEach((entry, index) => {
        for (const key of ["discard", "openOptions"] as const)
          if (entry[key] !== undefined)
            ctx.addIssue({
              code: "custom",
              path: ["storage", "luks", index, key],
              message: `luks ${key} needs Ignition spec 3.4.0`,
            });
      });
  });

export type IgnitionConfig = z.output<typeof ignitionConfigSchema>;
