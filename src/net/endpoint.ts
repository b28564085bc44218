import { isIP } from "node:net";
import { OperatorError } from "../errors.js";

/** An IP address and a port: where a socket listens or what it connects to. */
export interface Endpoint {
  address: string;
  port: number;
}

export interface ParseEndpointOptions {
  /** Accept a bare address ("10.0.0.1", "fd00::1", "[fd00::1]") and use this port. */
  defaultPort?: number;
  /** Accept port 0 (listen on a port the kernel picks). */
  allowPortZero?: boolean;
  /** The error to throw (UsageError for command-line flags; OperatorError by default). */
  error?: new (
    message: string,
    options: { hint?: string },
  ) => OperatorError;
}

/**
 * "10.0.0.1:6443", "[fd00::1]:6443" (and with `defaultPort` also "10.0.0.1", "fd00::1", "[fd00::1]")
 * → endpoint. `what` names the flag or field in the error.
 */
export function parseEndpoint(text: string, what: string, options: ParseEndpointOptions = {}): Endpoint {
  const Failure = options.error ?? OperatorError;
  const example = options.defaultPort === undefined ? "ADDRESS:PORT" : "ADDRESS[:PORT]";
  const hint = `write ${example} with an IP address, e.g. "10.77.0.11:6443" or "[fd00::11]:6443"`;
  const parts = splitEndpoint(text.trim(), options.defaultPort !== undefined);
  if (!parts) throw new Failure(`${what}: "${text}" is not ${example}`, { hint });
  const { address, portText } = parts;
  if (isIP(address) === 0) throw new Failure(`${what}: "${address}" is not an IP address`, { hint });
  const port = portText === undefined ? options.defaultPort! : Number(portText);
  const lowest = options.allowPortZero ? 0 : 1;
  if (!Number.isInteger(port) || port < lowest || port > 65535) {
    throw new Failure(`${what}: port ${portText ?? port} is out of range`, {
      hint: `use a port from ${lowest} to 65535`,
    });
  }
  return { address, port };
}

function splitEndpoint(text: string, portOptional: boolean): { address: string; portText?: string } | undefined {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracketed) {
    if (bracketed[2] === undefined && !portOptional) return undefined;
    return bracketed[2] === undefined ? { address: bracketed[1]! } : { address: bracketed[1]!, portText: bracketed[2] };
  }
  const plain = /^([^:[\]]+):(\d+)$/.exec(text);
  if (plain) return { address: plain[1]!, portText: plain[2]! };
  // A bare IPv6 address has colons of its own; only a bare address is allowed here.
  if (portOptional && text !== "" && !/[[\]]/.test(text) && (isIP(text) !== 0 || !text.includes(":"))) {
    return { address: text };
  }
  return undefined;
}

/** "10.0.0.1:53", "[fd00::1]:53": IPv6 in brackets, so the port is never mistaken for part of the address. */
export const formatEndpoint = ({ address, port }: Endpoint): string =>
  address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;

/** The endpoint a listening server is bound to (`server.address()`), formatted. */
export function boundEndpoint(address: { address: string; port: number } | string | null): string {
  if (address === null || typeof address === "string") throw new Error(`not an IP listener: ${address}`);
  return formatEndpoint(address);
}
