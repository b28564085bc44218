import { OperatorError } from "../errors.js";

/**
 * A listen that failed because of the machine (address not here, port taken) is the operator's to
 * fix: say which service, where, and what to change. Other errors pass through unchanged.
 */
export function explainBindError(error: unknown, service: string, where: string, portSetting: string): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  const address = where.replace(/:\d+$/, "").replace(/^\[|\]$/g, "");
  if (code === "EADDRNOTAVAIL")
    return new OperatorError(`cannot serve ${service} on ${where}: ${address} is not an address of this machine`, {
      hint: "run airstrap on the bootstrap machine, correct spec.bootstrap.address, or pass --artifact-transfer ssh",
    });
  if (code === "EADDRINUSE")
    return new OperatorError(`cannot serve ${service} on ${where}: the port is in use`, {
      hint: `stop what holds it, choose another port with ${portSetting}, or pass --artifact-transfer ssh`,
    });
  return error;
}
