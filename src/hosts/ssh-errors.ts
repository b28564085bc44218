import { OperatorError } from "../errors.js";
import { TransientHostError } from "./host.js";

const TRANSIENT_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "EHOSTDOWN",
  "ENETUNREACH",
  "ENETDOWN",
  "EPIPE",
  "ENOTCONN",
  "EAI_AGAIN",
]);

const TRANSIENT_MESSAGES =
  /keepalive timeout|timed out while waiting for handshake|connection lost|not connected|no response from server|socket (?:closed|ended)|channel open failure|connection (?:reset|closed)|unable to start subsystem|unexpected (?:eof|close)/i;

export interface SshErrorContext {
  /** "host k8s-server-01 (10.77.0.11:22)". */
  label: string;
  name: string;
  user: string;
}

/** Is this an ssh2 or socket error that a retry may cure (the link, not the request, failed)? */
export function isTransientSshError(error: unknown): boolean {
  if (error instanceof TransientHostError) return true;
  if (!(error instanceof Error)) return false;
  const { code, level } = error as Error & { code?: unknown; level?: unknown };
  if (typeof code === "string" && TRANSIENT_CODES.has(code)) return true;
  if (level === "client-timeout" || level === "client-socket") return true;
  return TRANSIENT_MESSAGES.test(error.message);
}

/** Maps a failure while connecting: link faults are transient, a refused login is the operator's to fix. */
export function connectError(error: unknown, context: SshErrorContext): Error {
  if (error instanceof OperatorError || error instanceof TransientHostError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const level = (error as { level?: unknown })?.level;
  if (level === "client-authentication")
    return new OperatorError(`${context.label}: SSH login as ${context.user} was refused`, {
      hint: `check spec.ssh.user and identityFile for ${context.name}, that the public key is in ~${context.user}/.ssh/authorized_keys there, or that ssh-agent holds the key (SSH_AUTH_SOCK)`,
    });
  if (isTransientSshError(error))
    return new TransientHostError(`${context.label}: SSH connection failed: ${message}`, context.name, {
      cause: error,
    });
  const code = (error as { code?: unknown })?.code;
  if (code === "ENOTFOUND")
    return new OperatorError(`${context.label}: address not found`, {
      hint: "check the host's address in the manifest",
    });
  return new OperatorError(`${context.label}: SSH connection failed: ${message}`, {
    hint: "check that an SSH server (OpenSSH) listens at this address and port",
    cause: error,
  });
}

/** Maps a failure of an operation on an established connection. */
export function operationError(error: unknown, context: SshErrorContext, what: string): Error {
  if (error instanceof OperatorError || error instanceof TransientHostError) return error;
  const message = error instanceof Error ? error.message : String(error);
  // RFC 4254 SSH_OPEN_ADMINISTRATIVELY_PROHIBITED: the server's policy (e.g. a bastion's PermitOpen), not the link.
  if ((error as { reason?: unknown })?.reason === 1)
    return new OperatorError(`${context.label}: ${what}: refused by the server's configuration (${message})`, {
      hint: "on a bastion, allow TCP forwarding to the hosts (sshd_config AllowTcpForwarding yes, PermitOpen)",
      cause: error,
    });
  if (isTransientSshError(error))
    return new TransientHostError(`${context.label}: ${what}: connection lost (${message})`, context.name, {
      cause: error,
    });
  return new OperatorError(`${context.label}: ${what}: ${message}`, {
    hint: "check the path and its permissions on that host",
    cause: error,
  });
}
