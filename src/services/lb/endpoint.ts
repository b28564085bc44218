import { isIP } from "node:net";
import { OperatorError } from "../../errors.js";

export interface Endpoint {
  address: string;
  port: number;
}

/** "10.0.0.1:6443" or "[fd00::1]:6443" → endpoint; `what` names the flag or field for the error. */
export function parseEndpoint(text: string, what: string, options: { allowPortZero?: boolean } = {}): Endpoint {
  const match = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:[\]]+):(\d+)$/.exec(text);
  const hint = 'write ADDRESS:PORT with an IP address, e.g. "10.77.0.11:6443" or "[fd00::11]:6443"';
  if (!match) throw new OperatorError(`${what}: "${text}" is not ADDRESS:PORT`, { hint });
  const address = match[1]!;
  const port = Number(match[2]);
  if (isIP(address) === 0) throw new OperatorError(`${what}: "${address}" is not an IP address`, { hint });
  const lowest = options.allowPortZero ? 0 : 1;
  if (!Number.isInteger(port) || port < lowest || port > 65535) {
    throw new OperatorError(`${what}: port ${match[2]} is out of range`, {
      hint: `use a port from ${lowest} to 65535`,
    });
  }
  return { address, port };
}

export const formatEndpoint = ({ address, port }: Endpoint) =>
  address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
