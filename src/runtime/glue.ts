/**
 * What every runtime's server and client glue does the same way (wsmachine/node, /deno, /bun):
 * the server defaults, the options of a server's connections and endpoints, the default
 * decision on an upgrade request, and a client's URL and opening request.
 */
import { ConnectionType } from "../../codec/constants.js";
import { WSConnection, type ConnectionOptions } from "../connection.js";
import { AcceptConnection, Request } from "../../codec/events.js";
import type { Headers } from "../../codec/events.js";
import type { Extension } from "../../codec/extension.js";
import type { MemoryBudget } from "../../codec/memory-budget.js";
import type { PerMessageDeflate, PerMessageDeflateOptions } from "../extensions/permessage-deflate.js";
import { WORK_QUANTUM, type EndpointOptions, type RequestHandler } from "./endpoint-types.js";

/**
 * What a server bounds unless told otherwise (SECURITY.md says why each value): a peer that
 * sends nothing, or trickles, is closed after `idleTimeout` (a live one answers the ping sent
 * after `pingInterval` of silence); a message must arrive within `messageTimeout` of its start;
 * all connections together hold at most `maxBufferedBytes` for incomplete messages and queued
 * output.
 */
export const SERVER_DEFAULTS = Object.freeze({
  idleTimeout: 120_000,
  pingInterval: 30_000,
  messageTimeout: 120_000,
  maxBufferedBytes: 256 * 1024 * 1024,
});

/** The connection limits a server or client passes through to its `WSConnection`s. */
export type ConnectionLimits = Pick<ConnectionOptions, "maxMessageSize" | "maxFragments" | "maxHandshakeHeadSize" | "textAs" | "inspect" | "frameTrace" | "record">;

/** A PerMessageDeflate as the runtime makes it best (node:zlib on Node, the portable engine elsewhere). */
export type DeflateFactory = (options: PerMessageDeflateOptions) => PerMessageDeflate;

/** What the default decision needs. */
export interface AcceptOptions {
  subprotocols?: readonly string[];
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
}

/** No extensions: one empty list for every connection that negotiates none (an idle one would hold its own). */
const NO_EXTENSIONS: readonly Extension[] = Object.freeze([]);

/** The default decision: the first of `subprotocols` the client offered, permessage-deflate when enabled and offered. */
export function acceptWith(request: Request, options: AcceptOptions, makeDeflate: DeflateFactory): AcceptConnection {
  const subprotocol = options.subprotocols?.find((protocol) => request.subprotocols.includes(protocol)) ?? null;
  const deflate = options.perMessageDeflate ?? false;
  // A fresh extension object per connection: it holds that connection's compression state.
  const extensions = deflate === false ? NO_EXTENSIONS : [makeDeflate(deflate === true ? {} : deflate)];
  return new AcceptConnection({ subprotocol, extensions });
}

/** The options of every connection an endpoint drives: the caller's limits, whole messages, bounded steps. */
export function endpointConnectionOptions(options: ConnectionLimits): ConnectionOptions {
  return {
    maxMessageSize: options.maxMessageSize,
    maxFragments: options.maxFragments,
    maxHandshakeHeadSize: options.maxHandshakeHeadSize,
    // The endpoint emits whole messages: let the decoder join them (one unmasking copy).
    assembleMessages: true,
    textAs: options.textAs,
    // Bounded steps, so that one connection's huge message does not hold up the others.
    workQuantum: WORK_QUANTUM,
    inspect: options.inspect,
    frameTrace: options.frameTrace,
    record: options.record,
  };
}

/** A server connection's options: as every endpoint's, drawing on the server's memory budget. */
export function serverConnectionOptions(options: ConnectionLimits, memoryBudget: MemoryBudget): ConnectionOptions {
  return { ...endpointConnectionOptions(options), memoryBudget };
}

/** A server endpoint's options: the server defaults for what the caller left unset. */
export function serverEndpointOptions<Endpoint>(
  options: EndpointOptions<Endpoint>,
  memoryBudget: MemoryBudget,
  defaultDecision: RequestHandler<Endpoint>,
): EndpointOptions<Endpoint> {
  return {
    ...options,
    idleTimeout: options.idleTimeout ?? SERVER_DEFAULTS.idleTimeout,
    pingInterval: options.pingInterval ?? SERVER_DEFAULTS.pingInterval,
    messageTimeout: options.messageTimeout ?? SERVER_DEFAULTS.messageTimeout,
    memoryBudget,
    handleRequest: options.handleRequest ?? defaultDecision,
  };
}

/** Where a client connects, from its ws://, wss://, http:// or https:// URL. */
export interface WebSocketTarget {
  secure: boolean;
  /** Bare (an IPv6 literal without brackets), for the socket. */
  hostname: string;
  port: number;
  /** For the Host header: as in the URL. */
  host: string;
  /** The request target: path and query. */
  target: string;
}

/** Parse a WebSocket URL (RFC 6455 §3); throws TypeError saying what is wrong. */
export function parseWebSocketUrl(url: string | URL): WebSocketTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`not a URL: ${String(url)}`);
  }
  const scheme = parsed.protocol;
  const secure = scheme === "wss:" || scheme === "https:";
  if (!secure && scheme !== "ws:" && scheme !== "http:") throw new TypeError(`not a WebSocket URL: ${parsed.href}`);
  if (parsed.hash !== "") throw new TypeError(`a WebSocket URL has no fragment (RFC 6455 §3): ${parsed.href}`);
  // URL keeps IPv6 literals bracketed; sockets want them bare.
  const hostname = parsed.hostname.startsWith("[") ? parsed.hostname.slice(1, -1) : parsed.hostname;
  const port = parsed.port === "" ? (secure ? 443 : 80) : Number(parsed.port);
  return { secure, hostname, port, host: parsed.host, target: `${parsed.pathname === "" ? "/" : parsed.pathname}${parsed.search}` };
}

/** What a client offers. */
export interface ClientOffer extends ConnectionLimits {
  subprotocols?: readonly string[];
  headers?: Headers | Readonly<Record<string, string>>;
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
}

/** The opening request a client sends to `target` with what it offers (RFC 6455 §4.1; RFC 8441 §4). */
export function clientRequest(target: WebSocketTarget, options: ClientOffer, makeDeflate: DeflateFactory): Request {
  const deflate = options.perMessageDeflate ?? true;
  const headers = options.headers === undefined ? [] : Array.isArray(options.headers) ? (options.headers as Headers) : Object.entries(options.headers);
  return new Request({
    host: target.host,
    target: target.target,
    subprotocols: options.subprotocols ?? [],
    extraHeaders: headers,
    extensions: deflate === false ? [] : [makeDeflate(deflate === true ? {} : deflate)],
  });
}

/** A client connection that has sent its opening request (RFC 6455 §4.1): the request's bytes to write. */
export function clientConnection(target: WebSocketTarget, options: ClientOffer, makeDeflate: DeflateFactory): { connection: WSConnection; requestBytes: Uint8Array } {
  const connection = new WSConnection(ConnectionType.CLIENT, endpointConnectionOptions(options));
  const requestBytes = connection.send(clientRequest(target, options, makeDeflate));
  return { connection, requestBytes };
}
