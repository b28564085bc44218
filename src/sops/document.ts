import { createHash, randomBytes } from "node:crypto";
import { type Document, isMap, isScalar, parseDocument, type Scalar } from "yaml";
import { registerSecret } from "../secrets.js";
import { type AgeStanza, unwrapDataKey, wrapDataKey } from "./age.js";
import { decryptValue, encryptValue, SopsValueError } from "./cipher.js";
import {
  commentInside,
  type EncryptionRule,
  leavesOf,
  plainOf,
  SopsFormatError,
  shouldEncrypt,
  typedValue,
} from "./tree.js";

/** The sops release whose file format airstrap writes. */
export const SOPS_FORMAT_VERSION = "3.9.4";
/** Kubernetes Secrets: only their values are encrypted, so kind, name and namespace stay readable. */
export const DEFAULT_ENCRYPTED_REGEX = "^(data|stringData)$";

/** A file that does not open: which recipient it needs, or that it was changed (the MAC). */
export class SopsOpenError extends Error {
  constructor(
    message: string,
    readonly kind: "no-key" | "tampered" | "format",
  ) {
    super(message);
  }
}

export interface SopsMetadata {
  age: AgeStanza[];
  lastmodified: string;
  rule: EncryptionRule;
  /** The encrypted MAC as read from a file (absent while writing one). */
  mac?: string;
}

/** An opened file: the plaintext document (comments and order kept), its data key and its metadata. */
export interface OpenedFile {
  document: Document.Parsed;
  dataKey: Uint8Array;
  metadata: SopsMetadata;
}

export function parseYaml(text: string): Document.Parsed {
  const document = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  const error = document.errors[0];
  if (error) throw new SopsOpenError(`YAML: ${error.message.split("\n")[0]}`, "format");
  if (!isMap(document.contents)) throw new SopsOpenError("the file must be a YAML mapping", "format");
  return document;
}

/** RFC 3339 in whole seconds, as sops writes `lastmodified` (and uses as the MAC's AAD). */
export const sopsTime = (now: Date) => `${now.toISOString().slice(0, 19)}Z`;

/** Encrypts a plaintext document to new recipients with a new data key. */
export async function encryptText(
  text: string,
  options: { recipients: string[]; rule?: EncryptionRule; now: Date },
): Promise<string> {
  const document = parseYaml(text);
  if (document.has("sops")) throw new SopsOpenError("the file is already encrypted (it has a sops key)", "format");
  const dataKey = registerKey(randomBytes(32));
  const age = await wrapDataKey(dataKey, options.recipients);
  const rule = options.rule ?? { encrypted_regex: DEFAULT_ENCRYPTED_REGEX };
  return sealDocument(document, dataKey, { age, rule, lastmodified: sopsTime(options.now) });
}

/**
 * Encrypts a plaintext document in place with a known data key and metadata (a new `lastmodified`
 * is given by the caller) and returns its text: the values, then the MAC over all of them.
 */
export function sealDocument(document: Document.Parsed, dataKey: Uint8Array, metadata: SopsMetadata): string {
  refuseReadableComments(document, metadata.rule);
  const hash = createHash("sha512");
  for (const leaf of leavesOf(document.contents, "sops")) {
    const { text, type } = plainOf(leaf.node);
    hash.update(text, "utf8");
    if (!shouldEncrypt(metadata.rule, leaf.path) || (type === "str" && text === "")) continue;
    setScalar(leaf.node, encryptValue(text, type, dataKey, aadOf(leaf.path)));
  }
  const mac = hash.digest("hex").toUpperCase();
  const sops = document.createNode({
    age: metadata.age.map((s) => ({ recipient: s.recipient, enc: s.enc })),
    lastmodified: metadata.lastmodified,
    mac: encryptValue(mac, "str", dataKey, metadata.lastmodified),
    ...metadata.rule,
    version: SOPS_FORMAT_VERSION,
  });
  // Quoted as sops writes it: unquoted, a YAML 1.1 reader would take it for a timestamp.
  const lastmodified = sops.get("lastmodified", true);
  if (isScalar(lastmodified)) lastmodified.type = "QUOTE_DOUBLE";
  document.set("sops", sops);
  return document.toString({ lineWidth: 0 });
}

/** Opens an encrypted file with the identities at hand; the MAC is checked before anything is returned. */
export async function openText(text: string, identities: string[]): Promise<OpenedFile> {
  const document = parseYaml(text);
  const metadata = readMetadata(document);
  const dataKey = await unwrapDataKey(metadata.age, identities);
  if (!dataKey)
    throw new SopsOpenError(
      `no age identity at hand opens this file; it is encrypted to ${metadata.age.map((s) => s.recipient).join(", ")}`,
      "no-key",
    );
  registerKey(dataKey);
  document.delete("sops");
  const hash = createHash("sha512");
  for (const leaf of leavesOf(document.contents)) {
    const encrypted = shouldEncrypt(metadata.rule, leaf.path);
    if (encrypted && typeof leaf.node.value === "string" && leaf.node.value !== "") {
      try {
        const { plain, type } = decryptValue(leaf.node.value, dataKey, aadOf(leaf.path));
        setScalar(leaf.node, typedValue(plain, type));
      } catch (error) {
        if (error instanceof SopsValueError || error instanceof SopsFormatError)
          throw new SopsOpenError(
            `integrity check failed (MAC): the value at ${leaf.path.join(".")} does not open: ${error.message}`,
            "tampered",
          );
        throw error;
      }
    }
    hash.update(plainOf(leaf.node).text, "utf8");
  }
  const computed = hash.digest("hex").toUpperCase();
  let stored: string;
  try {
    stored = decryptValue(metadata.mac ?? "", dataKey, metadata.lastmodified).plain;
  } catch {
    throw new SopsOpenError(
      "integrity check failed (MAC): the MAC itself does not open, so the file was changed",
      "tampered",
    );
  }
  if (stored !== computed)
    throw new SopsOpenError(
      "integrity check failed (MAC mismatch): the file was changed after it was encrypted",
      "tampered",
    );
  return { document, dataKey, metadata };
}

function readMetadata(document: Document.Parsed): SopsMetadata {
  const sops = document.get("sops");
  if (!isMap(sops)) throw new SopsOpenError("not a sops file: it has no sops metadata", "format");
  const raw = sops.toJSON() as Record<string, unknown>;
  for (const other of ["pgp", "kms", "gcp_kms", "azure_kv", "hc_vault", "key_groups"])
    if (Array.isArray(raw[other]) && raw[other].length > 0)
      throw new SopsOpenError(`the file uses ${other} keys; airstrap opens only age`, "format");
  for (const unsupported of ["encrypted_comment_regex", "unencrypted_comment_regex", "mac_only_encrypted"])
    if (raw[unsupported]) throw new SopsOpenError(`sops option ${unsupported} is not supported`, "format");
  const age = Array.isArray(raw.age) ? raw.age : [];
  const stanzas = age.flatMap((s: { recipient?: unknown; enc?: unknown }) =>
    typeof s?.recipient === "string" && typeof s?.enc === "string" ? [{ recipient: s.recipient, enc: s.enc }] : [],
  );
  if (stanzas.length === 0) throw new SopsOpenError("the file has no age recipients", "format");
  if (typeof raw.lastmodified !== "string" || typeof raw.mac !== "string")
    throw new SopsOpenError("the sops metadata lacks lastmodified or mac", "format");
  const rule: EncryptionRule = {};
  for (const key of ["encrypted_regex", "unencrypted_regex", "encrypted_suffix", "unencrypted_suffix"] as const)
    if (typeof raw[key] === "string") rule[key] = raw[key];
  return { age: stanzas, lastmodified: raw.lastmodified, rule, mac: raw.mac };
}

/** sops' AAD: the map keys down to the value, each followed by a colon. */
const aadOf = (path: string[]) => `${path.join(":")}:`;

function setScalar(node: Scalar, value: string | number | boolean): void {
  node.value = value;
  node.type = typeof value === "string" && value.includes("\n") ? "BLOCK_LITERAL" : undefined;
}

function refuseReadableComments(document: Document.Parsed, rule: EncryptionRule): void {
  const contents = document.contents;
  const walk = (node: unknown, path: string[]) => {
    if (!isMap(node)) return;
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : "";
      const below = [...path, key];
      if (shouldEncrypt(rule, below)) {
        const comment = commentInside(pair.value) ?? (isScalar(pair.key) ? pair.key.comment : undefined);
        if (comment)
          throw new SopsOpenError(
            `a comment inside ${below.join(".")} would stay readable ("#${comment.split("\n")[0]}"); move it above ${key}:`,
            "format",
          );
      } else walk(pair.value, below);
    }
  };
  walk(contents, []);
}

function registerKey(key: Uint8Array): Uint8Array {
  registerSecret(Buffer.from(key).toString("base64"));
  registerSecret(Buffer.from(key).toString("hex"));
  return key;
}
