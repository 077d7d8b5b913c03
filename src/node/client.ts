/** Client-side glue: `connect(url, options)` over node:net (ws://) or node:tls (wss://). */
import * as net from "node:net";
import type * as tls from "node:tls";
import type { Headers } from "../../codec/events.js";
import type { WSConnection, ConnectionOptions } from "../connection.js";
import type { PerMessageDeflateOptions } from "../index.js";
import { nodeTls } from "./builtins.js";
import { nodePerMessageDeflate, useNodeAccelerations } from "./defaults.js";
import { clientConnection, parseWebSocketUrl, type WebSocketTarget } from "../runtime/glue.js";
import { WebSocketEndpoint, whenOpen, type EndpointOptions } from "./endpoint.js";

export interface ConnectOptions
  extends Omit<EndpointOptions, "handleRequest">,
    Pick<ConnectionOptions, "maxMessageSize" | "maxFragments" | "maxHandshakeHeadSize" | "textAs" | "inspect" | "frameTrace" | "record"> {
  /** Subprotocols to offer (Sec-WebSocket-Protocol), in order of preference. */
  subprotocols?: readonly string[];
  /** Extra request headers (Origin, Authorization, cookies, …). */
  headers?: Headers | Readonly<Record<string, string>>;
  /** Offer permessage-deflate (RFC 7692): true (the default, as browsers and ws), false, or the parameters to offer. */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /** wss:// only: TLS options (ca, rejectUnauthorized, servername, …). */
  tls?: tls.ConnectionOptions;
  /** Called with the endpoint as soon as it exists, while still CONNECTING (to watch its lifecycle from the start). */
  onEndpoint?: (endpoint: WebSocketEndpoint) => void;
}

/**
 * Open a WebSocket connection to `url` (ws://, wss://; http:// and https:// are taken as their
 * WebSocket equivalents). Resolves with the open endpoint; attach listeners right away, since
 * messages that arrived with the handshake are delivered on the next turn of the event loop.
 * Rejects with HandshakeRejectedError (a non-101 response), RemoteProtocolError (an invalid
 * response), TimeoutError (`handshakeTimeout`), ConnectionClosedError or a socket error.
 */
export function connect(url: string | URL, options: ConnectOptions = {}): Promise<WebSocketEndpoint> {
  useNodeAccelerations();
  let target: WebSocketTarget;
  let connection: WSConnection;
  let requestBytes: Uint8Array;
  try {
    target = parseWebSocketUrl(url);
    ({ connection, requestBytes } = clientConnection(target, options, nodePerMessageDeflate));
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
  const { secure, hostname, port } = target;

  const socket = secure
    ? nodeTls().connect({
        host: hostname,
        port,
        // SNI takes a host name, never an IP address (RFC 6066 §3).
        servername: net.isIP(hostname) === 0 ? hostname : undefined,
        ALPNProtocols: ["http/1.1"],
        ...options.tls,
      })
    : net.connect({ host: hostname, port });
  // Written once the connection is up (the socket queues it).
  socket.write(requestBytes);

  const endpoint = new WebSocketEndpoint(socket, connection, options);
  options.onEndpoint?.(endpoint);
  return whenOpen(endpoint);
}
