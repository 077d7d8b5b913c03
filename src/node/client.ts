/** Client-side glue: `connect(url, options)` over node:net (ws://) or node:tls (wss://). */
import * as net from "node:net";
import * as tls from "node:tls";
import type { Headers } from "../../codec/events.js";
import { ConnectionType } from "../../codec/constants.js";
import { WSConnection, type ConnectionOptions } from "../connection.js";
import { Request } from "../../codec/events.js";
import type { PerMessageDeflateOptions } from "../index.js";
import { nodePerMessageDeflate, useNodeAccelerations } from "./defaults.js";
import { WebSocketEndpoint, whenOpen, WORK_QUANTUM, type EndpointOptions } from "./endpoint.js";

export interface ConnectOptions
  extends Omit<EndpointOptions, "handleRequest">,
    Pick<ConnectionOptions, "maxMessageSize" | "maxFragments" | "maxHandshakeHeadSize" | "inspect" | "frameTrace" | "record"> {
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
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return Promise.reject(new TypeError(`not a URL: ${String(url)}`));
  }
  const scheme = parsed.protocol;
  const secure = scheme === "wss:" || scheme === "https:";
  if (!secure && scheme !== "ws:" && scheme !== "http:") return Promise.reject(new TypeError(`not a WebSocket URL: ${parsed.href}`));
  if (parsed.hash !== "") return Promise.reject(new TypeError(`a WebSocket URL has no fragment (RFC 6455 §3): ${parsed.href}`));
  // URL keeps IPv6 literals bracketed; sockets want them bare.
  const hostname = parsed.hostname.startsWith("[") ? parsed.hostname.slice(1, -1) : parsed.hostname;
  const port = parsed.port === "" ? (secure ? 443 : 80) : Number(parsed.port);

  const connection = new WSConnection(ConnectionType.CLIENT, {
    maxMessageSize: options.maxMessageSize,
    maxFragments: options.maxFragments,
    maxHandshakeHeadSize: options.maxHandshakeHeadSize,
    // The endpoint emits whole messages: let the decoder join them (one unmasking copy).
    assembleMessages: true,
    // Bounded steps: a huge or highly compressed message does not hold up the event loop.
    workQuantum: WORK_QUANTUM,
    inspect: options.inspect,
    frameTrace: options.frameTrace,
    record: options.record,
  });
  const deflate = options.perMessageDeflate ?? true;
  const headers = options.headers === undefined ? [] : Array.isArray(options.headers) ? (options.headers as Headers) : Object.entries(options.headers);
  let requestBytes: Uint8Array;
  try {
    requestBytes = connection.send(
      new Request({
        host: parsed.host,
        target: `${parsed.pathname === "" ? "/" : parsed.pathname}${parsed.search}`,
        subprotocols: options.subprotocols ?? [],
        extraHeaders: headers,
        extensions: deflate === false ? [] : [nodePerMessageDeflate(deflate === true ? {} : deflate)],
      }),
    );
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }

  const socket = secure
    ? tls.connect({
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
