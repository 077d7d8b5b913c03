/**
 * Server-side glue: `upgrade()` for a node:http(s) server's 'upgrade' event, and
 * `createWebSocketServer()`, a standalone server on node:net (or node:tls) where the core parses
 * the HTTP upgrade request itself.
 */
import { EventEmitter } from "node:events";
import type { IncomingMessage } from "node:http";
import * as net from "node:net";
import type { Duplex } from "node:stream";
import type * as tls from "node:tls";
import type { Headers } from "../../codec/events.js";
import { ConnectionType } from "../../codec/constants.js";
import { WSConnection, type ConnectionOptions } from "../connection.js";
import { RemoteProtocolError } from "../../codec/errors.js";
import { AcceptConnection, type Request } from "../../codec/events.js";
import type { PerMessageDeflateOptions } from "../index.js";
import { MemoryBudget } from "../../codec/memory-budget.js";
import { nodeTls } from "./builtins.js";
import { nodePerMessageDeflate, useNodeAccelerations } from "./defaults.js";
import { SERVER_DEFAULTS, acceptWith, serverConnectionOptions, serverEndpointOptions } from "../runtime/glue.js";
import { WebSocketEndpoint, whenOpen, type EndpointOptions } from "./endpoint.js";
import { closeEndpoints, serverEndpointTracker, type EndpointTracker } from "../runtime/served-endpoints.js";

export { SERVER_DEFAULTS } from "../runtime/glue.js";

let upgradeBudget: MemoryBudget | null = null;

/** The budget `upgrade()` calls share when given none: one per process, as one server's. */
function sharedUpgradeBudget(): MemoryBudget {
  return (upgradeBudget ??= new MemoryBudget(SERVER_DEFAULTS.maxBufferedBytes));
}

/** What a server needs to know to accept connections. */
export interface ServerOptions extends EndpointOptions, Pick<ConnectionOptions, "maxMessageSize" | "maxFragments" | "maxHandshakeHeadSize" | "textAs" | "inspect" | "frameTrace" | "record"> {
  /** Subprotocols this server speaks, in order of preference (used when `handleRequest` is not given). */
  subprotocols?: readonly string[];
  /**
   * Accept permessage-deflate (RFC 7692) when a client offers it: true, or the parameters to
   * accept with. Default false, as ws (compression costs CPU and memory per connection).
   * Used when `handleRequest` is not given.
   */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /**
   * The memory budget this server's connections share (see `maxBufferedBytes`). `upgrade()`
   * calls without one share a process-wide budget of SERVER_DEFAULTS.maxBufferedBytes; pass
   * `new MemoryBudget(bytes)` (or `Infinity`) to choose.
   */
  memoryBudget?: MemoryBudget;
}

/**
 * The default decision: accept, with the first of `subprotocols` the client offered (or none),
 * and permessage-deflate when enabled and offered. A custom `handleRequest` may call this after
 * its own checks (authentication, origin, …).
 */
export function acceptRequest(request: Request, options: Pick<ServerOptions, "subprotocols" | "perMessageDeflate"> = {}): AcceptConnection {
  return acceptWith(request, options, nodePerMessageDeflate);
}

/** node:http's `rawHeaders` (name, value, name, value, …) as header pairs, order and case kept. */
export function headersFromRaw(rawHeaders: readonly string[]): Headers {
  const headers: Headers = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) headers.push([rawHeaders[i]!, rawHeaders[i + 1]!]);
  return headers;
}

function endpointOptions(options: ServerOptions, memoryBudget: MemoryBudget): EndpointOptions {
  return serverEndpointOptions<WebSocketEndpoint>(options, memoryBudget, (request) => acceptRequest(request, options));
}

/**
 * Take over a node:http(s) server's 'upgrade' event: validate the request the HTTP stack parsed
 * (`WSConnection.initiateUpgradeConnection` with `request.rawHeaders`), let `handleRequest` decide,
 * and read `head` (the bytes after the request) as the client's first frames. Resolves with the
 * open endpoint; rejects with RemoteProtocolError (an invalid upgrade request, answered with
 * 400/426 already), HandshakeRejectedError (`handleRequest` rejected it) or ConnectionClosedError.
 *
 * ```ts
 * httpServer.on("upgrade", (request, socket, head) => {
 *   upgrade(request, socket, head, { perMessageDeflate: true }).then((endpoint) => …, () => {});
 * });
 * ```
 */
export function upgrade(request: IncomingMessage, socket: Duplex, head: Uint8Array, options: ServerOptions = {}): Promise<WebSocketEndpoint> {
  useNodeAccelerations();
  const budget = options.memoryBudget ?? sharedUpgradeBudget();
  const connection = new WSConnection(ConnectionType.SERVER, serverConnectionOptions(options, budget));
  try {
    connection.initiateUpgradeConnection(headersFromRaw(request.rawHeaders), request.url ?? "/");
  } catch (error) {
    if (error instanceof RemoteProtocolError && error.eventHint !== null) {
      socket.end(connection.send(error.eventHint));
    } else {
      socket.destroy();
    }
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
  // A copy: the connection takes ownership of what it is given, and `head` may be a view into
  // a buffer node:http still uses.
  if (head.length > 0) connection.receiveData(Uint8Array.prototype.slice.call(head));
  return whenOpen(new WebSocketEndpoint(socket, connection, endpointOptions(options, budget)));
}

export interface WebSocketServerOptions extends ServerOptions {
  /** Serve wss:// with these TLS options (a key and certificate at least). */
  tls?: tls.TlsOptions;
  /**
   * Bytes all of this server's connections together may hold for incomplete messages
   * (received, joined and decompressed bytes, plus a per-array overhead) and for output queued
   * beyond `highWaterMark` (default SERVER_DEFAULTS.maxBufferedBytes, 256 MiB; Infinity: no
   * limit). A connection whose next allocation would exceed it is closed with 1013 (Try Again
   * Later) before the bytes are held. Ignored when `memoryBudget` is given.
   */
  maxBufferedBytes?: number;
}

export interface WebSocketServerEvents {
  /** A client completed the opening handshake; `request` is what it asked for. */
  connection: [endpoint: WebSocketEndpoint, request: Request];
  /** A TCP (or TLS) connection arrived; its endpoint is CONNECTING (watch its lifecycle from here). */
  handshake: [endpoint: WebSocketEndpoint];
  /** An endpoint that never opened failed (invalid request, rejection, timeout, socket error). */
  clientError: [error: Error, endpoint: WebSocketEndpoint];
  listening: [];
  close: [];
  error: [error: Error];
}

/** A standalone WebSocket server on node:net (or node:tls): the core parses the HTTP request. */
export class WebSocketServer extends EventEmitter<WebSocketServerEvents> {
  /** The listening node:net or node:tls server. */
  readonly server: net.Server;
  /** The endpoints that completed the handshake and have not closed yet. */
  readonly clients = new Set<WebSocketEndpoint>();
  /** The endpoints still in their opening handshake (the open ones are in `clients`). */
  private readonly handshaking = new Set<WebSocketEndpoint>();
  private readonly options: WebSocketServerOptions;
  private readonly secure: boolean;
  /** What this server's connections may hold together (`maxBufferedBytes`). */
  readonly memoryBudget: MemoryBudget;
  /**
   * Every connection's and endpoint's options, and the tracker of its endpoints, made once: per
   * connection they were objects and closures an open connection held for nothing (bench:e2e R1).
   */
  private readonly connectionOptions: ConnectionOptions;
  private readonly endpointOptions: EndpointOptions;
  private readonly tracker: EndpointTracker<WebSocketEndpoint>;

  constructor(options: WebSocketServerOptions = {}) {
    super();
    this.options = options;
    this.memoryBudget = options.memoryBudget ?? new MemoryBudget(options.maxBufferedBytes ?? SERVER_DEFAULTS.maxBufferedBytes);
    this.connectionOptions = serverConnectionOptions(options, this.memoryBudget);
    this.endpointOptions = endpointOptions(options, this.memoryBudget);
    this.tracker = serverEndpointTracker<WebSocketEndpoint, Request>(this, this.handshaking, this.clients);
    this.secure = options.tls !== undefined;
    this.server = options.tls === undefined ? net.createServer() : nodeTls().createServer(options.tls);
    this.server.on(this.secure ? "secureConnection" : "connection", (socket: net.Socket) => this.accept(socket));
    this.server.on("listening", () => this.emit("listening"));
    this.server.on("close", () => this.emit("close"));
    this.server.on("error", (error) => {
      if (this.listenerCount("error") > 0) this.emit("error", error);
    });
    if (this.secure) {
      // A TLS handshake that fails is the client's problem, not the server's.
      this.server.on("tlsClientError", (_error, socket: tls.TLSSocket) => socket.destroy());
    }
  }

  /** Start listening (default 127.0.0.1, port 0: the system picks one). */
  listen(port = 0, host = "127.0.0.1"): Promise<net.AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => reject(error);
      this.server.once("error", onError);
      this.server.listen(port, host, () => {
        this.server.off("error", onError);
        resolve(this.server.address() as net.AddressInfo);
      });
    });
  }

  address(): net.AddressInfo | null {
    const address = this.server.address();
    return typeof address === "object" ? address : null;
  }

  /** The URL clients connect to, e.g. ws://127.0.0.1:8080/ (once listening). */
  get url(): string {
    const address = this.address();
    if (address === null) throw new Error("the server is not listening");
    const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
    return `${this.secure ? "wss" : "ws"}://${host}:${address.port}/`;
  }

  /**
   * Stop accepting connections, close every open connection with `code` (1001 "going away" by
   * default; each closing handshake is bounded by the endpoints' `closeTimeout`), abort those
   * still in their handshake, and resolve when everything is closed.
   */
  async close(code = 1001, reason?: string): Promise<void> {
    const serverClosed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    await closeEndpoints([...this.clients, ...this.handshaking], code, reason);
    await serverClosed;
  }

  private accept(socket: net.Socket): void {
    const connection = new WSConnection(ConnectionType.SERVER, this.connectionOptions);
    const endpoint = new WebSocketEndpoint(socket, connection, this.endpointOptions);
    this.tracker.track(endpoint);
    this.emit("handshake", endpoint);
  }
}

/**
 * A standalone server; `onConnection` is added as a 'connection' listener. Call `listen()`.
 *
 * ```ts
 * const server = createWebSocketServer({ perMessageDeflate: true }, (endpoint) => {
 *   endpoint.on("message", (data) => endpoint.send(data));
 * });
 * await server.listen(8080);
 * ```
 */
export function createWebSocketServer(
  options: WebSocketServerOptions = {},
  onConnection?: (endpoint: WebSocketEndpoint, request: Request) => void,
): WebSocketServer {
  useNodeAccelerations();
  const server = new WebSocketServer(options);
  if (onConnection !== undefined) server.on("connection", onConnection);
  return server;
}
