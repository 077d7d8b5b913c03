/**
 * `wsmachine/deno`: the endpoint contract of wsmachine/node on Deno's own TCP and TLS APIs
 * (`Deno.listen`, `Deno.listenTls`, `Deno.connect`, `Deno.connectTls`), without Node
 * compatibility. `connect(url)` and `createWebSocketServer(options, onConnection)` behave as
 * wsmachine/node's; the endpoints are event emitters with the same events and methods.
 *
 * ```ts
 * import { createWebSocketServer } from "wsmachine/deno";
 * const server = createWebSocketServer({}, (endpoint) => endpoint.on("message", (data) => endpoint.send(data)));
 * await server.listen(8080);
 * ```
 */
import { connectWith, type ConnectOptions as PortableConnectOptions } from "../runtime/connect.js";
import type { WebSocketEndpoint } from "../runtime/endpoint.js";
import { WebSocketServer, type Listener, type ServerOptions } from "../runtime/server.js";
import type { Request } from "../../codec/events.js";
import { DenoTransport, denoNamespace, denoRuntime, type DenoListener } from "./transport.js";

export { WebSocketEndpoint, type EndpointOptions, type RequestHandler } from "../runtime/endpoint.js";
export type { CloseInfo, HandshakeDecision, WebSocketEndpointEvents } from "../runtime/endpoint-types.js";
export { WebSocketServer, acceptRequest, type ServerOptions, type WebSocketServerEvents, type ListenAddress } from "../runtime/server.js";
export { SERVER_DEFAULTS } from "../runtime/glue.js";
export { HandshakeRejectedError, TimeoutError, ConnectionClosedError, PeerProtocolError } from "../runtime/errors.js";
export { DenoTransport, type DenoConn } from "./transport.js";

export interface ConnectOptions extends PortableConnectOptions {
  /** wss:// only: extra CA certificates (PEM) to trust, as Deno.connectTls's `caCerts`. */
  caCerts?: string[];
}

export interface WebSocketServerOptions extends ServerOptions {
  /** Serve wss:// with this certificate and key (PEM), through Deno.listenTls. */
  tls?: { cert: string; key: string };
}

/** Open a WebSocket connection to `url` (ws://, wss://); as wsmachine/node's connect(). */
export function connect(url: string | URL, options: ConnectOptions = {}): Promise<WebSocketEndpoint> {
  const deno = denoNamespace();
  return connectWith(
    url,
    options,
    async (target) => {
      const conn = target.secure
        ? await deno.connectTls({ hostname: target.hostname, port: target.port, caCerts: options.caCerts, alpnProtocols: ["http/1.1"] })
        : await deno.connect({ hostname: target.hostname, port: target.port });
      return new DenoTransport(conn);
    },
    denoRuntime(deno),
  );
}

/** A standalone server on Deno.listen (or Deno.listenTls); call `listen()`. */
export function createWebSocketServer(
  options: WebSocketServerOptions = {},
  onConnection?: (endpoint: WebSocketEndpoint, request: Request) => void,
): WebSocketServer {
  const deno = denoNamespace();
  let listener: DenoListener | null = null;
  const tls = options.tls;
  const denoListener: Listener = {
    listen: async (port, hostname, accept) => {
      listener = tls === undefined ? deno.listen({ hostname, port }) : deno.listenTls({ hostname, port, cert: tls.cert, key: tls.key, alpnProtocols: ["http/1.1"] });
      const accepting = listener;
      void (async () => {
        try {
          for await (const conn of accepting) accept(new DenoTransport(conn));
        } catch {
          // The listener was closed (close()): nothing more to accept.
        }
      })();
      return { hostname: accepting.addr.hostname, port: accepting.addr.port };
    },
    close: () => {
      try {
        listener?.close();
      } catch {
        // Already closed.
      }
      listener = null;
    },
  };
  const server = new WebSocketServer(denoListener, options, denoRuntime(deno), tls !== undefined);
  if (onConnection !== undefined) server.on("connection", onConnection);
  return server;
}
