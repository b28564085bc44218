import type { Events } from "../../events.js";
import { type RunningBootHttp, startBootHttp } from "../boot-http/service.js";
import { type RunningDhcp, startDhcp } from "../dhcp/service.js";
import type { RunningService } from "../service.js";
import { type RunningTftp, startTftp } from "../tftp/service.js";
import type { PxeConfig } from "./config.js";

export interface RunningPxe extends RunningService<PxeConfig> {
  readonly dhcp: RunningDhcp;
  readonly tftp: RunningTftp;
  readonly http: RunningBootHttp;
}

/**
 * The boot services of a PXE site in one process. They start in the order a machine uses them
 * backwards (HTTP, TFTP, then DHCP), so no machine is sent somewhere that does not answer yet; if
 * one cannot start, the ones already started are closed and the error says which.
 */
export async function startPxe(config: PxeConfig, events: Events): Promise<RunningPxe> {
  const started: { close(): Promise<void> }[] = [];
  try {
    const http = await startBootHttp(config.http, events);
    started.push(http);
    const tftp = await startTftp(config.tftp, events);
    started.push(tftp);
    const dhcp = await startDhcp(config.dhcp, events);
    started.push(dhcp);
    await Promise.all([http.ready, tftp.ready, dhcp.ready]);
    let closing: Promise<void> | undefined;
    return {
      dhcp,
      tftp,
      http,
      addresses: [
        ...http.addresses.map((a) => `http ${a}`),
        ...tftp.addresses.map((a) => `tftp ${a}`),
        ...dhcp.addresses.map((a) => `dhcp ${a}`),
      ],
      ready: Promise.resolve(),
      async reload(next) {
        await http.reload(next.http);
        await tftp.reload(next.tftp);
        await dhcp.reload(next.dhcp);
      },
      metrics: () => [http.metrics(), tftp.metrics(), dhcp.metrics()].join(""),
      close() {
        // DHCP first: no machine is sent to services that are going away.
        closing ??= (async () => {
          await dhcp.close();
          await Promise.all([tftp.close(), http.close()]);
        })();
        return closing;
      },
    };
  } catch (error) {
    await Promise.all(started.map((service) => service.close().catch(() => undefined)));
    throw error;
  }
}
