/**
 * WebSockets over HTTP/2 (RFC 8441) on node:http2. The server advertises
 * SETTINGS_ENABLE_CONNECT_PROTOCOL (§3), takes an extended CONNECT (`:method CONNECT`,
 * `:protocol websocket`, validated by codec/handshake/http2.ts as §4–5 say), answers 200, and
 * runs a frames-only `Connection` over the stream with the same endpoint as HTTP/1.1
 * (`WebSocketEndpoint` over a NodeTransport: an Http2Stream is a Duplex; pausing it withholds
 * HTTP/2 flow-control credit, so backpressure reaches the peer through WINDOW_UPDATE; ending it
 * sends END_STREAM, the stream's FIN; destroying it sends RST_STREAM). Over TLS the same port
 * also serves HTTP/1.1 upgrades (ALPN h2 and http/1.1); without TLS it is h2c with prior
 * knowledge. `connectHttp2()` is the client side.
 */
import { EventEmitter } from "node:events";
import type * as http2 from "node:http2";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type * as tls from "node:tls";
import type { Extension } from "../../codec/extension.js";
import { MemoryBudget } from "../../codec/memory-budget.js";
import { buildExtendedConnectResponse, validateExtendedConnect } from "../../codec/handshake/http2.js";
import type { Headers } from "../../codec/events.js";
import { ConnectionType } from "../../codec/constants.js";
import { Connection } from "../connection.js";
import { RemoteProtocolError } from "../../codec/errors.js";
import { AcceptConnection, RejectConnection, type Request } from "../../codec/events.js";
import { HandshakeRejectedError, TimeoutError } from "../runtime/errors.js";
import { SERVER_DEFAULTS, serverConnectionOptions, serverEndpointOptions } from "../runtime/glue.js";
import { DEFAULT_HANDSHAKE_TIMEOUT, isPromiseLike, toBytes } from "../runtime/endpoint-types.js";
import { nodeHttp2 } from "./builtins.js";
import { useNodeAccelerations } from "./defaults.js";
import { WebSocketEndpoint, whenOpen, type HandshakeDecision } from "./endpoint.js";
import { closeEndpoints } from "../runtime/served-endpoints.js";
import { acceptRequest, headersFromRaw, upgrade, type ServerOptions, type WebSocketServerEvents } from "./server.js";

/** How a request reached the server, for `handleRequest`. */
export interface Http2RequestInfo {
  /** "2": an extended CONNECT on an HTTP/2 stream (RFC 8441); "1.1": an HTTP/1.1 upgrade on the TLS port. */
  httpVersion: "2" | "1.1";
  /** The HTTP/2 stream (httpVersion "2"). */
  stream: http2.ServerHttp2Stream | null;
}

export interface Http2WebSocketServerOptions extends Omit<ServerOptions, "handleRequest"> {
  /**
   * Serve h2 over TLS with these options (a key and certificate at least); HTTP/1.1 clients
   * (ALPN http/1.1) are served on the same port through the HTTP/1.1 upgrade. Without it: h2c
   * with prior knowledge (RFC 9113 §3.3), HTTP/2 only.
   */
  tls?: tls.SecureContextOptions;
  /** As WebSocketServerOptions.maxBufferedBytes. */
  maxBufferedBytes?: number;
  /**
   * The decision on a request (default: acceptRequest with `subprotocols` and
   * `perMessageDeflate`). Unlike ServerOptions.handleRequest it gets no endpoint: over HTTP/2
   * the endpoint is made once the stream is accepted, since the negotiated extensions are part
   * of its frames-only connection.
   */
  handleRequest?: (request: Request, info: Http2RequestInfo) => HandshakeDecision | Promise<HandshakeDecision>;
  /**
   * HTTP/2 requests that are not WebSocket extended CONNECTs (a page, an API): default, 404.
   * Respond on the stream yourself (`stream.respond(...)`, `stream.end(...)`).
   */
  handleStream?: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => void;
  /**
   * TLS only: HTTP/1.1 requests that are not upgrades: default, 426 Upgrade Required. (Do not
   * add 'request' listeners to `server`: node:http2 would then answer every HTTP/2 stream a
   * second time through its compatibility layer; use this and `handleStream`.)
   */
  handleHttp1?: (request: IncomingMessage, response: ServerResponse) => void;
}

export interface Http2WebSocketServerEvents extends WebSocketServerEvents {
  /** A request that did not become a WebSocket (invalid, rejected, or the stream failed). */
  clientError: [error: Error, endpoint: WebSocketEndpoint];
  /** Same, for an HTTP/2 stream refused before it had an endpoint. */
  streamError: [error: Error, stream: http2.ServerHttp2Stream];
}

/**
 * A WebSocket server on node:http2: RFC 8441 extended CONNECT over h2 (TLS) or h2c, and over
 * TLS HTTP/1.1 upgrades on the same port. Events and `clients` as WebSocketServer's.
 */
export class Http2WebSocketServer extends EventEmitter<Http2WebSocketServerEvents> {
  readonly server: http2.Http2Server | http2.Http2SecureServer;
  readonly clients = new Set<WebSocketEndpoint>();
  readonly memoryBudget: MemoryBudget;
  private readonly endpoints = new Set<WebSocketEndpoint>();
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  private readonly options: Http2WebSocketServerOptions;
  private readonly secure: boolean;

  constructor(options: Http2WebSocketServerOptions = {}) {
    super();
    useNodeAccelerations();
    this.options = options;
    this.secure = options.tls !== undefined;
    this.memoryBudget = options.memoryBudget ?? new MemoryBudget(options.maxBufferedBytes ?? SERVER_DEFAULTS.maxBufferedBytes);
    // RFC 8441 §3: SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 lets clients send extended CONNECTs.
    const settings: http2.Settings = { enableConnectProtocol: true };
    const h2 = nodeHttp2();
    this.server =
      options.tls === undefined
        ? h2.createServer({ settings })
        : h2.createSecureServer({ ...options.tls, settings, allowHTTP1: true, ALPNProtocols: ["h2", "http/1.1"] });
    this.server.on("stream", (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, _flags: number, rawHeaders: unknown) =>
      this.onStream(stream, headers, rawHeaders as string[]),
    );
    this.server.on("session", (session: http2.ServerHttp2Session) => {
      this.sessions.add(session);
      session.on("close", () => this.sessions.delete(session));
      // A session error (a peer's protocol error) closes its streams, whose endpoints report it.
      session.on("error", () => {});
    });
    if (options.tls !== undefined) this.serveHttp1Requests();
    // HTTP/1.1 on the TLS port (ALPN http/1.1): the RFC 6455 upgrade.
    this.server.on("upgrade", (request, socket, head: Buffer) => {
      const upgradeOptions: ServerOptions = {
        ...options,
        memoryBudget: this.memoryBudget,
        handleRequest: (parsed) => this.decide(parsed, { httpVersion: "1.1", stream: null }),
      };
      const endpoint = upgrade(request, socket, head, upgradeOptions);
      // A failed upgrade was answered (400, 426, the rejection) by upgrade(): the client's problem.
      endpoint.then((open) => this.adopt(open), () => {});
    });
    this.server.on("error", (error) => {
      if (this.listenerCount("error") > 0) this.emit("error", error);
    });
    if (options.tls !== undefined) {
      // A TLS handshake that fails is the client's problem, not the server's.
      this.server.on("tlsClientError", (_error: Error, socket: tls.TLSSocket) => socket.destroy());
    }
  }

  /**
   * HTTP/1.1 requests on the TLS port arrive as 'request' events. node:http2 installs its
   * compatibility layer, which would also turn every HTTP/2 stream into a 'request' (answering
   * it twice, and a CONNECT with 405), when a 'request' listener is added (a 'newListener'
   * hook): this listener is added without it, since HTTP/2 streams are answered in onStream.
   */
  private serveHttp1Requests(): void {
    const hooks = this.server.listeners("newListener") as ((...args: unknown[]) => void)[];
    this.server.removeAllListeners("newListener");
    this.server.on("request", (request: IncomingMessage, response: ServerResponse) => {
      if (request.httpVersionMajor !== 1) return;
      if (this.options.handleHttp1 !== undefined) this.options.handleHttp1(request, response);
      else response.writeHead(426, { upgrade: "websocket", connection: "Upgrade", "content-type": "text/plain" }).end("a WebSocket endpoint: upgrade (RFC 6455 §4) or use HTTP/2 extended CONNECT (RFC 8441)\n");
    });
    for (const hook of hooks) this.server.on("newListener", hook);
  }

  /** Start listening (default 127.0.0.1, port 0: the system picks one). */
  listen(port = 0, host = "127.0.0.1"): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, host, () => {
        this.server.off("error", reject);
        this.emit("listening");
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  /** The URL clients connect to: ws://… for h2c, wss://… over TLS (once listening). */
  get url(): string {
    const address = this.server.address();
    if (address === null || typeof address !== "object") throw new Error("the server is not listening: call listen() first");
    const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
    return `${this.secure ? "wss" : "ws"}://${host}:${address.port}/`;
  }

  /** Close every WebSocket with `code` (1001 by default), then the HTTP/2 sessions and the listener. */
  async close(code = 1001, reason?: string): Promise<void> {
    const serverClosed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    await closeEndpoints(this.endpoints, code, reason);
    for (const session of this.sessions) session.close();
    await serverClosed;
    this.emit("close");
  }

  private decide(request: Request, info: Http2RequestInfo): HandshakeDecision | Promise<HandshakeDecision> {
    return this.options.handleRequest?.(request, info) ?? acceptRequest(request, this.options);
  }

  private onStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, rawHeaders: string[]): void {
    if (headers[":method"] !== "CONNECT" || headers[":protocol"] === undefined) {
      if (this.options.handleStream !== undefined) this.options.handleStream(stream, headers);
      else stream.respond({ ":status": 404 }, { endStream: true });
      return;
    }
    let request: Request;
    try {
      request = validateExtendedConnect(headersFromRaw(rawHeaders));
    } catch (error) {
      const rejection = error instanceof RemoteProtocolError && error.eventHint instanceof RejectConnection ? error.eventHint : new RejectConnection({ statusCode: 400 });
      this.refuse(stream, rejection, null, error instanceof Error ? error : new Error(String(error)));
      return;
    }
    // Nothing is read until the decision: the client waits for our response anyway.
    stream.pause();
    let decision: HandshakeDecision | Promise<HandshakeDecision>;
    try {
      decision = this.decide(request, { httpVersion: "2", stream });
    } catch (error) {
      this.refuse(stream, new RejectConnection({ statusCode: 500 }), null, error instanceof Error ? error : new Error(String(error)));
      return;
    }
    if (!isPromiseLike(decision)) {
      this.apply(stream, request, decision);
      return;
    }
    // As over HTTP/1.1, the decision is bounded by handshakeTimeout: then the stream is refused.
    const limit = this.options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
    const timer = limit > 0 ? setTimeout(() => this.refuse(stream, new RejectConnection({ statusCode: 503 }), null, new TimeoutError("handshake", limit)), limit) : null;
    timer?.unref();
    Promise.resolve(decision).then(
      (settled) => {
        if (timer !== null) clearTimeout(timer);
        this.apply(stream, request, settled);
      },
      (error: unknown) => {
        if (timer !== null) clearTimeout(timer);
        this.refuse(stream, new RejectConnection({ statusCode: 500 }), null, error instanceof Error ? error : new Error(String(error)));
      },
    );
  }

  private apply(stream: http2.ServerHttp2Stream, request: Request, decision: HandshakeDecision): void {
    // The client went away meanwhile, or the decision came too late (handshakeTimeout answered).
    if (stream.destroyed || stream.closed || stream.headersSent) return;
    if (decision instanceof RejectConnection) {
      this.refuse(stream, decision, null, new HandshakeRejectedError(decision.statusCode, decision.headers, new Uint8Array(0)));
      return;
    }
    if (!(decision instanceof AcceptConnection)) {
      const body = decision.body === undefined ? null : toBytes(decision.body);
      const rejection = new RejectConnection({ statusCode: decision.statusCode, headers: decision.headers ?? [], hasBody: body !== null });
      this.refuse(stream, rejection, body, new HandshakeRejectedError(decision.statusCode, decision.headers ?? [], body ?? new Uint8Array(0)));
      return;
    }
    let response: { headers: Headers; extensions: Extension[] };
    try {
      response = buildExtendedConnectResponse(request, decision);
    } catch (error) {
      this.refuse(stream, new RejectConnection({ statusCode: 500 }), null, error instanceof Error ? error : new Error(String(error)));
      return;
    }
    stream.respond(toHttp2Headers(response.headers));
    const connection = new Connection(ConnectionType.SERVER, {
      ...serverConnectionOptions(this.options, this.memoryBudget),
      extensions: response.extensions,
      handshake: "rfc8441",
    });
    const options = serverEndpointOptions<WebSocketEndpoint>({ ...this.options, handleRequest: undefined }, this.memoryBudget, () => new AcceptConnection());
    const endpoint = new WebSocketEndpoint(stream, connection, options, { protocol: decision.subprotocol ?? null, extensions: response.extensions, request });
    this.endpoints.add(endpoint);
    endpoint.once("close", () => this.endpoints.delete(endpoint));
    whenOpen(endpoint).then(
      (open) => this.adopt(open),
      () => {},
    );
  }

  /** An endpoint that opened (over HTTP/2 or an HTTP/1.1 upgrade) joins `clients`. */
  private adopt(endpoint: WebSocketEndpoint): void {
    this.endpoints.add(endpoint);
    this.clients.add(endpoint);
    endpoint.once("close", () => {
      this.endpoints.delete(endpoint);
      this.clients.delete(endpoint);
    });
    this.emit("connection", endpoint, endpoint.request!);
  }

  private refuse(stream: http2.ServerHttp2Stream, rejection: RejectConnection, body: Uint8Array | null, error: Error): void {
    if (stream.destroyed || stream.closed) return;
    if (!stream.headersSent) {
      stream.respond(toHttp2Headers([[":status", String(rejection.statusCode)], ...rejection.headers]), { endStream: body === null });
      if (body !== null) stream.end(body);
    } else {
      stream.close(nodeHttp2().constants.NGHTTP2_REFUSED_STREAM);
    }
    if (this.listenerCount("streamError") > 0) this.emit("streamError", error, stream);
  }
}

/** Header pairs as node:http2 takes them (names lower-case; a repeated name's values joined, RFC 9110 §5.3). */
export function toHttp2Headers(headers: Headers): http2.OutgoingHttpHeaders {
  const out: http2.OutgoingHttpHeaders = {};
  for (const [rawName, value] of headers) {
    const name = rawName.toLowerCase();
    const previous = out[name];
    out[name] = previous === undefined ? value : `${String(previous)}, ${value}`;
  }
  return out;
}

/** A WebSocket server on node:http2 (h2c, or h2 + HTTP/1.1 over TLS); `onConnection` listens to 'connection'. Call `listen()`. */
export function createHttp2WebSocketServer(
  options: Http2WebSocketServerOptions = {},
  onConnection?: (endpoint: WebSocketEndpoint, request: Request) => void,
): Http2WebSocketServer {
  const server = new Http2WebSocketServer(options);
  if (onConnection !== undefined) server.on("connection", onConnection);
  return server;
}
