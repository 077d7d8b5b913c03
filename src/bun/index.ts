/**
 * `wsmachine/bun`: the endpoint contract of wsmachine/node on Bun's own TCP and TLS APIs
 * (`Bun.listen`, `Bun.connect`), without Node compatibility. `connect(url)` and
 * `createWebSocketServer(options, onConnection)` behave as wsmachine/node's; the endpoints are
 * event emitters with the same events and methods.
 *
 * ```ts
 * import { createWebSocketServer } from "wsmachine/bun";
 * const server = createWebSocketServer({}, (endpoint) => endpoint.on("message", (data) => endpoint.send(data)));
 * await server.listen(8080);
 * ```
 */
import { connectWith, type ConnectOptions as PortableConnectOptions } from "../runtime/connect.js";
import type { WebSocketEndpoint } from "../runtime/endpoint.js";
import { WebSocketServer, type Listener, type ServerOptions } from "../runtime/server.js";
import type { Request } from "../../codec/events.js";
import { BunTransport, bunHandlers, bunRuntime, type BunSocket, type BunSocketHandlers } from "./transport.js";

export { WebSocketEndpoint, type EndpointOptions, type RequestHandler } from "../runtime/endpoint.js";
export type { CloseInfo, HandshakeDecision, WebSocketEndpointEvents } from "../runtime/endpoint-types.js";
export { WebSocketServer, acceptRequest, type ServerOptions, type WebSocketServerEvents, type ListenAddress } from "../runtime/server.js";
export { SERVER_DEFAULTS } from "../runtime/glue.js";
export { HandshakeRejectedError, TimeoutError, ConnectionClosedError, PeerProtocolError } from "../runtime/errors.js";
export { BunTransport, type BunSocket } from "./transport.js";

/** Bun's TLS options as used here (PEM strings). */
export interface BunTlsOptions {
  cert?: string;
  key?: string;
  ca?: string | string[];
  rejectUnauthorized?: boolean;
  serverName?: string;
}

interface BunListener {
  readonly hostname: string;
  readonly port: number;
  stop(closeActiveConnections?: boolean): void;
}

/** The part of the `Bun` namespace this entry uses. */
interface BunNamespace {
  listen(options: { hostname: string; port: number; allowHalfOpen: boolean; tls?: BunTlsOptions; socket: BunSocketHandlers }): BunListener;
  connect(options: { hostname: string; port: number; allowHalfOpen: boolean; tls?: BunTlsOptions | boolean; data: null; socket: BunSocketHandlers }): Promise<BunSocket<BunTransport | null>>;
}

function bunNamespace(): BunNamespace {
  const bun = (globalThis as { Bun?: BunNamespace }).Bun;
  if (bun === undefined) throw new Error("wsmachine/bun runs under Bun (the Bun global is missing): use wsmachine/node or wsmachine/deno elsewhere");
  return bun;
}

export interface ConnectOptions extends PortableConnectOptions {
  /** wss:// only: Bun's TLS options (ca, rejectUnauthorized, serverName). */
  tls?: BunTlsOptions;
}

export interface WebSocketServerOptions extends ServerOptions {
  /** Serve wss:// with this certificate and key (PEM), through Bun.listen's `tls`. */
  tls?: { cert: string; key: string };
}

/** Open a WebSocket connection to `url` (ws://, wss://); as wsmachine/node's connect(). */
export function connect(url: string | URL, options: ConnectOptions = {}): Promise<WebSocketEndpoint> {
  const bun = bunNamespace();
  return connectWith(
    url,
    options,
    async (target) => {
      // The transport is made in `open`, before any data can arrive.
      const socket = await bun.connect({
        hostname: target.hostname,
        port: target.port,
        allowHalfOpen: true,
        tls: target.secure ? { serverName: target.hostname, ...options.tls } : undefined,
        data: null,
        socket: {
          ...bunHandlers((opened) => new BunTransport(opened)),
          connectError: () => {
            // Bun rejects the connect() promise with the error.
          },
        },
      });
      return socket.data ?? new BunTransport(socket);
    },
    bunRuntime,
  );
}

/** A standalone server on Bun.listen (with `tls` for wss://); call `listen()`. */
export function createWebSocketServer(
  options: WebSocketServerOptions = {},
  onConnection?: (endpoint: WebSocketEndpoint, request: Request) => void,
): WebSocketServer {
  const bun = bunNamespace();
  let listener: BunListener | null = null;
  const bunListener: Listener = {
    listen: async (port, hostname, accept) => {
      listener = bun.listen({
        hostname,
        port,
        allowHalfOpen: true,
        tls: options.tls,
        socket: bunHandlers((socket) => accept(new BunTransport(socket))),
      });
      return { hostname: listener.hostname, port: listener.port };
    },
    close: () => {
      listener?.stop(false);
      listener = null;
    },
  };
  const server = new WebSocketServer(bunListener, options, bunRuntime, options.tls !== undefined);
  if (onConnection !== undefined) server.on("connection", onConnection);
  return server;
}
