import { createHash, timingSafeEqual } from "node:crypto";
import { readFile } from "node:fs/promises";
import { BlockList, isIPv4, isIPv6 } from "node:net";
import bcrypt from "bcryptjs";
import { OperatorError } from "../../errors.js";
import { basicCredentials } from "../../net/basic-auth.js";
import { registerSecret } from "../../secrets.js";
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
  const users = auth.htpasswdFile ? await readHtpasswd(auth.htpasswdFile) : new Map<string, string>();
  const token = auth.tokenFile ? await readToken(auth.tokenFile) : undefined;
  const anonymous = networks(auth.anonymousPullNetworks);
  const credentialsConfigured = users.size > 0 || token !== undefined;
  // bcrypt is slow on purpose; a client sends the same header on every request of a push.
  const verified = new Map<string, boolean>();

  async function authenticated(header: string | undefined): Promise<boolean> {
    if (!header) return false;
    const key = createHash("sha256").update(header).digest("hex");
    const cached = verified.get(key);
    if (cached !== undefined) return cached;
    const result = await verify(header);
    if (verified.size > 1000) verified.clear();
    verified.set(key, result);
    return result;
  }

  async function verify(header: string): Promise<boolean> {
    const [scheme, value = ""] = header.split(/\s+/, 2);
    if (scheme?.toLowerCase() === "bearer") return token !== undefined && sameSecret(value, token);
    const credentials = basicCredentials(header);
    if (!credentials) return false;
    const { user, password } = credentials;
    if (token !== undefined && sameSecret(password, token)) return true;
    const hash = users.get(user);
    return hash !== undefined && (await bcrypt.compare(password, hash.replace(/^\$2y\$/, "$2b$")));
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
