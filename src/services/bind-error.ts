import { OperatorError } from "../errors.js";

/**
 * A listen that failed because of the machine (address not here, port taken, port privileged) is
 * the operator's to fix: say which service, where, and what to change. Other errors pass through
 * unchanged. `fallback` is the service's way around it, added to the hint.
 */
export function explainBindError(
  error: unknown,
  service: string,
  where: string,
  portSetting: string,
  fallback = "pass --artifact-transfer ssh",
): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  const address = where.replace(/:\d+$/, "").replace(/^\[|\]$/g, "");
  if (code === "EADDRNOTAVAIL")
    return new OperatorError(`cannot serve ${service} on ${where}: ${address} is not an address of this machine`, {
      hint: `run airstrap on the bootstrap machine, correct spec.bootstrap.address, or ${fallback}`,
    });
  if (code === "EADDRINUSE")
    return new OperatorError(`cannot serve ${service} on ${where}: the port is in use`, {
      hint: `stop what holds it, choose another port with ${portSetting}, or ${fallback}`,
    });
  if (code === "EACCES")
    return new OperatorError(
      `cannot serve ${service} on ${where}: a port below 1024 needs root or CAP_NET_BIND_SERVICE`,
      {
        hint: `run as root, grant the capability (setcap cap_net_bind_service=+ep on the executable, or AmbientCapabilities=CAP_NET_BIND_SERVICE in its systemd unit), or choose a port above 1023 with ${portSetting}`,
      },
    );
  return error;
}
