import { realpath, stat } from "node:fs/promises";
import { OperatorError } from "../../errors.js";
import type { Events } from "../../events.js";
import { formatEndpoint } from "../../net/endpoint.js";
import { explainBindError } from "../bind-error.js";
import type { RunningService } from "../service.js";
import type { TftpConfig, TftpEndpoint } from "./config.js";
import { TftpMetrics } from "./metrics.js";
import type { RequestRefusal, TransferReport } from "./reports.js";
import { type TftpListener, TftpServer } from "./server.js";
import { ERROR_CODE } from "./wire.js";

/**
 * The TFTP server of PXE boot (RFC 1350 with blksize, tsize, timeout and windowsize): serves the
 * files under one folder, read-only. `reload` applies a new root and new limits to the next
 * transfers and rebinds only the listen addresses that changed.
 */
export interface RunningTftp extends RunningService<TftpConfig> {
  /** Transfers in progress. */
  readonly activeTransfers: number;
}

/** The hint for a port already in use, which on a PXE server is usually another TFTP server. */
const PORT_IN_USE = "stop the other TFTP server (dnsmasq --enable-tftp, tftpd-hpa, atftpd) first";

export async function startTftp(config: TftpConfig, events: Events): Promise<RunningTftp> {
  const metrics = new TftpMetrics();
  let current = { config, realRoot: await servedRoot(config.root) };
  const server = new TftpServer({
    current: () => current,
    metrics,
    onTransferEnd: (report) => events.emit(transferEvent(report)),
    onRefused: (refusal) => events.emit(refusalEvent(refusal)),
    onSocketError: (error) => {
      metrics.socketErrors += 1;
      events.emit({
        level: "warn",
        kind: "tftp.socket-error",
        service: "tftp",
        message: `a TFTP listening socket reported an error: ${error.message}`,
      });
    },
  });
  let listeners = await bindAll(server, config.listen, []);
  let closed: Promise<void> | undefined;
  events.emit({
    level: "info",
    kind: "tftp.start",
    service: "tftp",
    message: `TFTP serving ${current.realRoot} on ${listeners.map((l) => formatEndpoint(l.bound)).join(", ")}`,
  });
  return {
    get addresses() {
      return listeners.map((listener) => formatEndpoint(listener.bound));
    },
    ready: Promise.resolve(),
    get activeTransfers() {
      return server.activeTransfers;
    },
    async reload(next) {
      const realRoot = await servedRoot(next.root);
      const kept = await bindAll(server, next.listen, listeners);
      await Promise.all(listeners.filter((listener) => !kept.includes(listener)).map((listener) => listener.close()));
      listeners = kept;
      current = { config: next, realRoot };
      events.emit({
        level: "info",
        kind: "tftp.reload",
        service: "tftp",
        message: `TFTP reloaded: serving ${realRoot}`,
      });
    },
    metrics: () => metrics.render(),
    close() {
      closed ??= (async () => {
        await Promise.all(listeners.map((listener) => listener.close()));
        await server.abortAll();
      })();
      return closed;
    },
  };
}

async function servedRoot(root: string): Promise<string> {
  const hint = "point the TFTP root at the folder holding undionly.kpxe and ipxe.efi";
  try {
    if ((await stat(root)).isDirectory()) return await realpath(root);
  } catch (error) {
    throw new OperatorError(`TFTP root ${root}: ${(error as NodeJS.ErrnoException).code ?? "unreadable"}`, { hint });
  }
  throw new OperatorError(`TFTP root ${root} is not a folder`, { hint });
}

/** Listeners for `endpoints`, reusing those of `existing` that match; on a failure, none is left open. */
async function bindAll(
  server: TftpServer,
  endpoints: TftpEndpoint[],
  existing: TftpListener[],
): Promise<TftpListener[]> {
  const result: TftpListener[] = [];
  try {
    for (const endpoint of endpoints) {
      const key = formatEndpoint(endpoint);
      const reuse = existing.find((l) => formatEndpoint(l.endpoint) === key || formatEndpoint(l.bound) === key);
      result.push(reuse ?? (await bindOne(server, endpoint)));
    }
  } catch (error) {
    await Promise.all(result.filter((listener) => !existing.includes(listener)).map((listener) => listener.close()));
    throw error;
  }
  return result;
}

async function bindOne(server: TftpServer, endpoint: TftpEndpoint): Promise<TftpListener> {
  try {
    return await server.listen(endpoint);
  } catch (error) {
    throw explainBindError(error, "TFTP", formatEndpoint(endpoint), "--listen", PORT_IN_USE);
  }
}

function transferEvent(report: TransferReport) {
  const complete = report.result === "complete";
  const options = `blksize ${report.blksize}, windowsize ${report.windowsize}`;
  return {
    level: complete ? ("info" as const) : ("warn" as const),
    kind: complete ? "tftp.transfer" : "tftp.transfer.failed",
    service: "tftp",
    message: complete
      ? `TFTP sent ${report.file} to ${report.client}: ${report.bytes} bytes in ${report.durationMs} ms (${options})`
      : `TFTP transfer of ${report.file} to ${report.client} stopped after ${report.bytes} of ${report.size} bytes: ${report.reason}`,
    detail: { ...report },
  };
}

function refusalEvent(refusal: RequestRefusal) {
  return {
    level: refusal.code === ERROR_CODE.fileNotFound ? ("info" as const) : ("warn" as const),
    kind: "tftp.refused",
    service: "tftp",
    message: `TFTP refused ${JSON.stringify(refusal.file)} to ${refusal.client}: ${refusal.message}`,
    detail: { ...refusal },
  };
}
