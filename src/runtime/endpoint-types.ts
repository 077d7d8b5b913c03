/**
 * The endpoint contract shared by every runtime's glue (wsmachine/node, wsmachine/deno,
 * wsmachine/bun): options, events, how a connection ended, and the limits the endpoint works
 * within. See ./endpoint-core.ts for the behaviour.
 */
import type { Headers } from "../../codec/events.js";
import { encodeUtf8 } from "../../codec/utf8.js";
import type { MemoryBudget } from "../../codec/memory-budget.js";
import type { ConnectionState } from "../../codec/constants.js";
import type { AcceptConnection, RejectConnection, Request } from "../../codec/events.js";

/** A server's answer to an upgrade request. */
export type HandshakeDecision =
  | AcceptConnection
  | RejectConnection
  | { statusCode: number; headers?: Headers; body?: string | Uint8Array };

/** Server: decides whether to accept a request; may be asynchronous (reading stops meanwhile). */
export type RequestHandler<Endpoint = unknown> = (request: Request, endpoint: Endpoint) => HandshakeDecision | Promise<HandshakeDecision>;

export interface EndpointOptions<Endpoint = unknown> {
  /** Answer every ping with a pong (default true). 'ping' is emitted either way. */
  autoPong?: boolean;
  /**
   * Answer the peer's close frame with the same code (default true). When false, listen for
   * 'closing' and call `close()` yourself; `closeTimeout` still bounds the wait.
   */
  autoCloseReply?: boolean;
  /** Milliseconds to wait for the peer's close frame, or for TCP to end after the closing handshake (default 5000). */
  closeTimeout?: number;
  /** Milliseconds for the opening handshake (default 10000; 0: no limit). */
  handshakeTimeout?: number;
  /**
   * Stop reading while a 'message' listener's returned promise is pending (default true). A
   * listener that awaits later input of the same connection (its next message) must not be
   * awaited: set false, or do not return that promise.
   */
  awaitMessageListeners?: boolean;
  /** Reading pauses while more than this many bytes wait to be written (default 4 MiB). */
  highWaterMark?: number;
  /** Server: the decision on the upgrade request (default: accept, no subprotocol, no extensions). */
  handleRequest?: RequestHandler<Endpoint>;
  /**
   * Milliseconds without a byte from the peer, once open, after which the connection is closed
   * with 1001 (0: never; the default, except on servers: see ServerOptions).
   */
  idleTimeout?: number;
  /**
   * Milliseconds without a byte from the peer after which a ping is sent (0: never). Its pong,
   * like any byte, counts as activity, so a live but quiet peer survives `idleTimeout`.
   */
  pingInterval?: number;
  /** Milliseconds a frame or data message may take to arrive once it started; past it: close 1008 (0: no limit). */
  messageTimeout?: number;
  /**
   * A memory budget shared with other endpoints (a server's `maxBufferedBytes`): output queued
   * beyond `highWaterMark` is reserved from it, and a write that cannot be fails the connection
   * with 1013. What the connection holds for incomplete messages is reserved from the budget given
   * to the `WSConnection` (ConnectionOptions.memoryBudget), normally the same one.
   */
  memoryBudget?: MemoryBudget;
}

/** How `send` and `sendFragment` frame the data. */
export interface SendOptions {
  /**
   * Send as a binary message (true) or as a text message (false). Default: a string as text,
   * bytes as binary. A string with `binary: true` is sent as its UTF-8 bytes; bytes with
   * `binary: false` are sent as text when they are valid UTF-8 (RFC 6455 §8.1), else the call
   * throws LocalProtocolError — which is how text received with `textAs: "bytes"` is echoed or
   * forwarded without decoding it: `send(data, { binary: isBinary })`.
   */
  binary?: boolean;
}

/** How the connection ended, as the 'close' event and `closed` report it. */
export interface CloseInfo {
  /** The peer's close code, 1005 when its close frame had none, 1006 when none arrived; a failure's own code. */
  code: number;
  reason: string;
  /** Both close frames were exchanged (the closing handshake completed), as a browser's CloseEvent.wasClean. */
  wasClean: boolean;
}

export interface WebSocketEndpointEvents {
  /** The opening handshake completed; `protocol` and `extensions` are set. */
  open: [];
  /** A whole message: text as a string, binary as a Uint8Array. A returned promise pauses reading until it settles. */
  message: [data: string | Uint8Array, isBinary: boolean];
  ping: [payload: Uint8Array];
  pong: [payload: Uint8Array];
  /** The peer's close frame arrived (before the reply, when `autoCloseReply` is off). */
  closing: [code: number, reason: string];
  /** The TCP connection is closed; emitted once, last. */
  close: [code: number, reason: string, wasClean: boolean];
  /**
   * Something went wrong: a rejected or invalid handshake, a timeout, a peer's protocol violation,
   * a socket error, a message listener's rejected promise. Emitted only while someone listens
   * (a network peer should not be able to crash a process without an 'error' listener); the
   * 'close' event follows whenever the error ends the connection.
   */
  error: [error: Error];
  /** The top-level state of the connection changed (the statechart's; see also `connection.actor`). */
  state: [state: ConnectionState, previous: ConnectionState];
  /** The socket's write buffer drained after `send` returned false. */
  drain: [];
}

export const DEFAULT_CLOSE_TIMEOUT = 5_000;
export const DEFAULT_HANDSHAKE_TIMEOUT = 10_000;
export const DEFAULT_HIGH_WATER_MARK = 4 * 1024 * 1024;
export const ABNORMAL = 1006;
export const GOING_AWAY = 1001;
export const POLICY_VIOLATION = 1008;
export const TRY_AGAIN_LATER = 1013;
/** Bytes read and dropped after reading stopped, before the socket is left to fill (see stopReading). */
export const DISCARD_LIMIT = 16 * 1024;
/** How long one pump may hand out events before it yields to the event loop. */
export const SLICE_MILLISECONDS = 4;
/**
 * Binary payloads from this size on are sent by a server without a copy: the frame header and
 * the caller's array are written as they are. Below it a copy into one frame costs less than a
 * second write.
 */
export const UNCOPIED_PAYLOAD_MIN = 16 * 1024;
/**
 * Bytes (received or inflated) the decoder works through per step for connections made by this
 * entry (ConnectionOptions.workQuantum): about a millisecond of inflating.
 */
export const WORK_QUANTUM = 256 * 1024;
export const EMPTY = new Uint8Array(0);

export function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function";
}

export function toBytes(data: string | Uint8Array): Uint8Array {
  return typeof data === "string" ? encodeUtf8(data) : data;
}

/**
 * The endpoint object users hold, as the shared logic sees it: a node:events EventEmitter on
 * Node (`WebSocketEndpoint` of wsmachine/node stays one), the small ./emitter.ts elsewhere.
 */
export interface EndpointEmitter {
  emit<K extends keyof WebSocketEndpointEvents>(name: K, ...args: WebSocketEndpointEvents[K]): boolean;
  /** The 'message' listeners, which the endpoint calls itself to see their promises. */
  rawListeners(name: "message"): Function[];
  listenerCount(name: "error"): number;
}

/**
 * For a connection whose opening handshake another stack did (HTTP/2's extended CONNECT, RFC
 * 8441): what it negotiated. The endpoint starts OPEN and emits 'open' once its creator has
 * attached listeners.
 */
export interface Negotiated {
  protocol: string | null;
  extensions: readonly import("../../codec/extension.js").Extension[];
  /** Server: the request the client sent. */
  request: import("../../codec/events.js").Request | null;
}
