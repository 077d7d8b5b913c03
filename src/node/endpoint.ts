/**
 * `WebSocketEndpoint`: one `WSConnection` driven over one Node stream (a `net.Socket`, a
 * `tls.TLSSocket`, an `Http2Stream` (RFC 8441), or any byte Duplex), with the things a Sans-I/O
 * core leaves to its caller: reading and writing the stream, timers, reassembling messages,
 * answering pings and closes, backpressure, and closing the transport when the protocol says so.
 *
 * Endpoints are usually made by `connect()`, `upgrade()` or `createWebSocketServer()`; wrap a
 * stream yourself with `new WebSocketEndpoint(socket, connection, options)` where `connection`
 * is a `WSConnection` that is still CONNECTING (a client's must have sent its Request already).
 *
 * The behaviour lives in the runtime-agnostic ../runtime/endpoint-core.ts (lifecycle, what
 * returns false instead of throwing, stop-reading after the end, bounded slices, backpressure:
 * its header says it all), which wsmachine/deno and wsmachine/bun share. This class is a
 * node:events EventEmitter, as Node users expect, that owns one `EndpointCore` over a
 * NodeTransport and forwards the public API to it: composition rather than a shared base
 * class, since the Node class must extend EventEmitter and the others cannot.
 */
import { EventEmitter } from "node:events";
import type { Duplex } from "node:stream";
import type { Extension } from "../../codec/extension.js";
import type { ConnectionState, ConnectionType } from "../../codec/constants.js";
import type { Connection, WSConnection } from "../connection.js";
import type { Request } from "../../codec/events.js";
import { EndpointCore } from "../runtime/endpoint-core.js";
import type * as Shared from "../runtime/endpoint-types.js";
import type { CloseInfo, SendOptions, WebSocketEndpointEvents } from "../runtime/endpoint-types.js";
import { NodeTransport, nodeRuntime } from "./transport.js";

export { whenOpen } from "../runtime/endpoint-core.js";
export { WORK_QUANTUM, type CloseInfo, type HandshakeDecision, type WebSocketEndpointEvents } from "../runtime/endpoint-types.js";
/** Server: decides whether to accept a request; may be asynchronous (reading stops meanwhile). */
export type RequestHandler = Shared.RequestHandler<WebSocketEndpoint>;
/** The endpoint's options (see each field; shared by every runtime's endpoint). */
export type EndpointOptions = Shared.EndpointOptions<WebSocketEndpoint>;

export class WebSocketEndpoint extends EventEmitter<WebSocketEndpointEvents> {
  readonly socket: Duplex;
  // The connection and the role are the core's, read through it: two fields less per connection.
  private readonly core: EndpointCore<WebSocketEndpoint>;

  /**
   * `negotiated`: `connection` is a frames-only `Connection` whose opening handshake another
   * stack did (HTTP/2's extended CONNECT, RFC 8441: see ./http2.ts); the endpoint starts OPEN.
   */
  constructor(socket: Duplex, connection: WSConnection | Connection, options: EndpointOptions = {}, negotiated?: Shared.Negotiated) {
    super();
    this.socket = socket;
    this.core = new EndpointCore<WebSocketEndpoint>(this, new NodeTransport(socket), connection, options, nodeRuntime, negotiated);
  }

  /** The Sans-I/O connection; `connection.actor` is its statechart actor (subscribe to watch it). */
  get connection(): WSConnection | Connection {
    return this.core.connection;
  }

  get role(): ConnectionType {
    return this.core.role;
  }

  /** The subprotocol the handshake settled on (null: none, or not open yet). */
  get protocol(): string | null {
    return this.core.protocol;
  }

  /** The extensions the handshake enabled (empty until open). */
  get extensions(): readonly Extension[] {
    return this.core.extensions;
  }

  /** Resolves (never rejects) when the 'close' event is emitted. */
  get closed(): Promise<CloseInfo> {
    return this.core.closed;
  }

  /** Server: the upgrade request the client sent (target, host, headers, offers); null on a client. */
  get request(): Request | null {
    return this.core.request;
  }

  /** The top-level state of the connection (the statechart's). */
  get state(): ConnectionState {
    return this.connection.state;
  }

  /** Bytes queued in the socket and not yet handed to the kernel. */
  get bufferedAmount(): number {
    return this.socket.writableLength;
  }

  /**
   * Send a whole message: a string as text, bytes as binary. Returns false when the message was
   * not sent because the connection cannot send any more (not open yet, or closing: our close
   * frame is out, or the socket is gone), and also when it was queued but the socket's buffer
   * is over `highWaterMark` (wait for 'drain' before sending much more): `state` tells which.
   * Never throws because of the connection's state or the peer's timing; throws TypeError for
   * data that is neither a string nor a Uint8Array, and LocalProtocolError for bytes sent as
   * text (`{ binary: false }`) that are not valid UTF-8. `options.binary` overrides the kind:
   * `send(data, { binary: isBinary })` echoes what a 'message' listener got, text as text,
   * even when it got text as bytes (`textAs: "bytes"`).
   */
  send(data: string | Uint8Array, options?: SendOptions): boolean {
    return this.core.sendFragment(data, true, options);
  }

  /**
   * Send one frame of a message; `final` false leaves the message open for more fragments of
   * the same kind (RFC 6455 §5.4). Control frames may be sent between fragments.
   */
  sendFragment(data: string | Uint8Array, final: boolean, options?: SendOptions): boolean {
    return this.core.sendFragment(data, final, options);
  }

  /** Send a ping (a string is sent as its UTF-8 bytes); false, doing nothing, when not open (see `send`). */
  ping(payload?: string | Uint8Array): boolean {
    return this.core.ping(payload);
  }

  /** Send an unsolicited pong (a heartbeat); false, doing nothing, when not open (see `send`). */
  pong(payload?: string | Uint8Array): boolean {
    return this.core.pong(payload);
  }

  /**
   * Start (or, after the peer's close with `autoCloseReply` off, finish) the closing handshake;
   * true when a close frame was sent. Before the connection is open this aborts it (the socket
   * is destroyed; true). Returns false, doing nothing, once a close frame was sent or the
   * connection is over. Throws LocalProtocolError only for a code or reason the RFC forbids on
   * the wire (RFC 6455 §7.4), whatever the state.
   */
  close(code?: number, reason?: string): boolean {
    return this.core.close(code, reason);
  }

  /**
   * Stop reading: no more messages (or any event) are delivered, and the socket is paused, until
   * `resume()`. The peer's writes then back up in TCP.
   */
  pause(): void {
    this.core.pause();
  }

  /** Read again after `pause()`; whatever arrived meanwhile is delivered first. */
  resume(): void {
    this.core.resume();
  }

  /** True while reading is stopped, for whatever reason (see ../runtime/endpoint-core.ts). */
  get isPaused(): boolean {
    return this.core.isPaused;
  }

  /** Destroy the socket now, without a closing handshake. */
  terminate(): void {
    this.socket.destroy();
  }
}
