/**
 * `connect()` for the runtimes other than Node: open the runtime's connection (a function
 * given by wsmachine/deno or wsmachine/bun), write the opening request, and resolve with the
 * open endpoint, with the same options and errors as wsmachine/node's `connect()`.
 */
import { PerMessageDeflate } from "../extensions/permessage-deflate.js";
import { WebSocketEndpoint, type EndpointOptions } from "./endpoint.js";
import { whenOpen } from "./endpoint-core.js";
import { clientConnection, parseWebSocketUrl, type ClientOffer, type WebSocketTarget } from "./glue.js";
import type { Runtime, Transport } from "./transport.js";

export interface ConnectOptions extends Omit<EndpointOptions, "handleRequest">, ClientOffer {
  /** Called with the endpoint as soon as it exists, while still CONNECTING. */
  onEndpoint?: (endpoint: WebSocketEndpoint) => void;
}

/** Opens the runtime's connection to `target` (TCP, or TLS for wss://). */
export type Dial = (target: WebSocketTarget) => Promise<Transport>;

export async function connectWith(url: string | URL, options: ConnectOptions, dial: Dial, runtime: Runtime): Promise<WebSocketEndpoint> {
  const target = parseWebSocketUrl(url);
  const { connection, requestBytes } = clientConnection(target, options, (parameters) => new PerMessageDeflate(parameters));
  const transport = await dial(target);
  transport.write(requestBytes);
  const endpoint = new WebSocketEndpoint(transport, connection, options, runtime);
  options.onEndpoint?.(endpoint);
  return whenOpen(endpoint);
}
