import { createHash, timingSafeEqual } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { BlockList, isIPv4, isIPv6 } from "node:net";
import bcrypt from "bcryptjs";
import { OperatorError } from "../../errors.js";
import { basicCredentials } from "../../net/basic-auth.js";
import { registerSecret } from "../../secrets.js";
import { createCredentialCache } from "../credential-cache.js";
import type { RegistryConfig } from "./config.js";
import { isLoopback } from "./config.js";
import { RegistryError } from "./errors.js";

/**
 * Who may do what: anyone on a configured network (and loopback) may pull; pushing and deleting
 * need credentials — a bcrypt htpasswd entry or the site token. With no credentials configured
 * at all, only loopback clients may push (the operator on the machine itself).
 */
export interface Authorizer {
  /**
   * `ping` marks GET /v2/: when credentials exist it always challenges an unauthenticated
   * client, because Docker-style clients (skopeo, podman) decide there whether to send
   * credentials at all. Their anonymous pulls still pass: a rejected header falls back to the
   * anonymous rules for reads.
   */
  check(request: {
    method: string;
    remoteAddress: string | undefined;
    authorization: string | undefined;
    ping?: boolean;
  }): Promise<void>;
}

export async function createAuthorizer(auth: RegistryConfig["auth"]): Promise<Authorizer> {
  const htpasswd = auth.htpasswdFile ? await watchedHtpasswd(auth.htpasswdFile) : undefined;
  const token = auth.tokenFile ? await readToken(auth.tokenFile) : undefined;
  const anonymous = networks(auth.anonymousPullNetworks);
  const credentialsConfigured = (htpasswd?.users.size ?? 0) > 0 || token !== undefined;
  // bcrypt is slow on purpose; a client sends the same header on every request of a pull or push.
  const verified = createCredentialCache();

  async function authenticated(header: string | undefined): Promise<boolean> {
    if (!header) return false;
    const [scheme, value = ""] = header.split(/\s+/, 2);
    if (scheme?.toLowerCase() === "bearer") return token !== undefined && sameSecret(value, token);
    if (scheme?.toLowerCase() !== "basic") return false;
    const users = htpasswd ? await htpasswd.current() : new Map<string, string>();
    if (verified.accepted(header, (user) => users.get(user))) return true;
    const credentials = basicCredentials(header);
    if (!credentials) return false;
    const { user, password } = credentials;
    if (token !== undefined && sameSecret(password, token)) return true;
    const entry = users.get(user);
    if (entry === undefined || !(await bcrypt.compare(password, entry.replace(/^\$2y\$/, "$2b$")))) return false;
    verified.remember(header, user, entry);
    return true;
  }

  return {
    async check({ method, remoteAddress, authorization, ping }) {
      const read = method === "GET" || method === "HEAD";
      const address = remoteAddress ?? "";
      const local = isLoopback(address);
      if (authorization !== undefined && (await authenticated(authorization))) return;
      if (ping && credentialsConfigured) {
        throw new RegistryError("UNAUTHORIZED", "authentication required", {
          headers: { "WWW-Authenticate": 'Basic realm="airstrap registry"' },
        });
      }
      if (read && (local || inNetworks(anonymous, address))) return;
      if (!read && !credentialsConfigured && local) return;
      if (!read && !credentialsConfigured) {
        throw new RegistryError("DENIED", "pushing is allowed only from loopback when no credentials are configured");
      }
      throw new RegistryError("UNAUTHORIZED", authorization ? "credentials rejected" : "authentication required", {
        headers: { "WWW-Authenticate": 'Basic realm="airstrap registry"' },
      });
    },
  };
}

function sameSecret(given: string, expected: string): boolean {
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

function networks(cidrs: string[]): BlockList {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [address = "", bits] = cidr.split("/");
    const family = isIPv4(address) ? "ipv4" : isIPv6(address) ? "ipv6" : undefined;
    const prefix = Number(bits ?? (family === "ipv4" ? 32 : 128));
    if (!family || !Number.isInteger(prefix) || prefix < 0 || prefix > (family === "ipv4" ? 32 : 128)) {
      throw new OperatorError(`registry: "${cidr}" is not a network in CIDR notation`, {
        hint: "write networks like 10.77.0.0/24 or fd00::/64",
      });
    }
    list.addSubnet(address, prefix, family);
  }
  return list;
}

function inNetworks(list: BlockList, address: string): boolean {
  const plain = address.startsWith("::ffff:") && isIPv4(address.slice(7)) ? address.slice(7) : address;
  if (isIPv4(plain)) return list.check(plain, "ipv4");
  if (isIPv6(plain)) return list.check(plain, "ipv6");
  return false;
}

/**
 * The htpasswd entries, read again whenever the file changes (checked with a stat per
 * authenticated request), so an edited or replaced file applies without a reload. A file that
 * vanishes or no longer parses accepts nobody until it is fixed.
 */
async function watchedHtpasswd(
  path: string,
): Promise<{ users: Map<string, string>; current(): Promise<Map<string, string>> }> {
  const version = async () => {
    const info = await stat(path).catch(() => undefined);
    return info ? `${info.ino}:${info.size}:${info.mtimeMs}:${info.ctimeMs}` : "missing";
  };
  let seen = await version();
  let users = await readHtpasswd(path);
  const first = users;
  return {
    users: first,
    async current() {
      const now = await version();
      if (now !== seen) {
        seen = now;
        users = await readHtpasswd(path).catch(() => new Map<string, string>());
      }
      return users;
    },
  };
}

export async function readHtpasswd(path: string): Promise<Map<string, string>> {
  const text = await readFile(path, "utf8").catch((error: NodeJS.ErrnoException) => {
    throw new OperatorError(`registry: cannot read htpasswd file ${path}: ${error.code ?? error.message}`, {
      hint: "create it with: htpasswd -B -c FILE USER",
    });
  });
  const users = new Map<string, string>();
  text.split("\n").forEach((line, index) => {
    const entry = line.trim();
    if (entry === "" || entry.startsWith("#")) return;
    const colon = entry.indexOf(":");
    const hash = entry.slice(colon + 1);
    if (colon <= 0 || !/^\$2[aby]\$\d\d\$/.test(hash)) {
      throw new OperatorError(`${path}:${index + 1}: not a bcrypt htpasswd entry`, {
        hint: "only bcrypt entries are accepted; create them with htpasswd -B",
      });
    }
    users.set(entry.slice(0, colon), hash);
  });
  return users;
}

async function readToken(path: string): Promise<string> {
  const token = (
    await readFile(path, "utf8").catch((error: NodeJS.ErrnoException) => {
      throw new OperatorError(`registry: cannot read token file ${path}: ${error.code ?? error.message}`);
    })
  ).trim();
  if (token.length < 16) {
    throw new OperatorError(`registry: token in ${path} is shorter than 16 characters`, {
      hint: "delete the file; airstrap registry serve --state-dir generates a new one",
    });
  }
  return registerSecret(token);
}
