import { createServer, type RequestListener } from "node:http";
import { formatEndpoint } from "../../net/endpoint.js";
import { explainBindError } from "../bind-error.js";
import { closeServer, listenOn } from "../listen.js";
import type { FileServerConfig } from "./config.js";

/** The files service's socket: one plain HTTP listener; closing it cuts transfers in flight (hosts resume with Range). */
export interface FilesListener {
  readonly address: string;
  close(): Promise<void>;
}

export async function listenFiles(config: FileServerConfig, handle: RequestListener): Promise<FilesListener> {
  const server = createServer(handle);
  const address = await listenOn(server, config).catch((error: unknown) => {
    throw explainBindError(error, "files", formatEndpoint(config), "spec.bootstrap.filesPort");
  });
  return { address, close: () => closeServer(server, true) };
}
