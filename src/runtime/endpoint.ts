/**
 * `WebSocketEndpoint` of wsmachine/deno and wsmachine/bun: the endpoint contract of
 * wsmachine/node (the same events, options and methods; see ../node/endpoint.ts) on the small
 * ./emitter.ts instead of node:events, over any Transport. Like the Node class it owns one
 * `EndpointCore` and forwards the public API to it.
 */
import type { Extension } from "../../codec/extension.js";
import type { ConnectionState, ConnectionType } from "../../codec/constants.js";
import type { WSConnection } from "../connection.js";
import type { Request } from "../../codec/events.js";
import { Emitter } from "./emitter.js";
import { EndpointCore } from "./endpoint-core.js";
import type * as Shared from "./endpoint-types.js";
import type { CloseInfo, SendOptions, WebSocketEndpointEvents } from "./endpoint-types.js";
import { portableRuntime, type Runtime, type Transport } from "./transport.js";

/** Server: decides whether to accept a request; may be asynchronous (reading stops meanwhile). */
export type RequestHandler = Shared.RequestHandler<WebSocketEndpoint>;
/** The endpoint's options, as wsmachine/node's. */
export type EndpointOptions = Shared.EndpointOptions<WebSocketEndpoint>;

export class WebSocketEndpoint extends Emitter<WebSocketEndpointEvents> {
  /** The runtime's connection, wrapped (DenoTransport, BunTransport). */
  readonly transport: Transport;
  private readonly connectionOf: WSConnection;
  // The role is the core's, read through it: a field less per connection.
  private readonly core: EndpointCore<WebSocketEndpoint>;

  constructor(transport: Transport, connection: WSConnection, options: EndpointOptions = {}, runtime: Runtime = portableRuntime) {
    super();
    this.transport = transport;
    this.connectionOf = connection;
    this.core = new EndpointCore<WebSocketEndpoint>(this, transport, connection, options, runtime);
  }

  /** The Sans-I/O connection; `connection.actor` is its statechart actor (subscribe to watch it). */
  get connection(): WSConnection {
    return this.connectionOf;
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

  /** Server: the upgrade request the client sent; null on a client. */
  get request(): Request | null {
    return this.core.request;
  }

  /** The top-level state of the connection (the statechart's). */
  get state(): ConnectionState {
    return this.connection.state;
  }

  /** Bytes queued on the transport and not yet handed to the system. */
  get bufferedAmount(): number {
    return this.transport.bufferedAmount;
  }

  /** Send a whole message; false when not sent, or queued beyond highWaterMark (as wsmachine/node). */
  send(data: string | Uint8Array, options?: SendOptions): boolean {
    return this.core.sendFragment(data, true, options);
  }

  /** Send one frame of a message (RFC 6455 §5.4); as wsmachine/node. */
  sendFragment(data: string | Uint8Array, final: boolean, options?: SendOptions): boolean {
    return this.core.sendFragment(data, final, options);
  }

  /** Send a ping; false, doing nothing, when not open. */
  ping(payload?: string | Uint8Array): boolean {
    return this.core.ping(payload);
  }

  /** Send an unsolicited pong; false, doing nothing, when not open. */
  pong(payload?: string | Uint8Array): boolean {
    return this.core.pong(payload);
  }

  /** Start or finish the closing handshake; before open, abort. False once a close frame was sent or the connection is over. */
  close(code?: number, reason?: string): boolean {
    return this.core.close(code, reason);
  }

  /** Stop reading until `resume()`. */
  pause(): void {
    this.core.pause();
  }

  /** Read again after `pause()`. */
  resume(): void {
    this.core.resume();
  }

  /** True while reading is stopped, for whatever reason. */
  get isPaused(): boolean {
    return this.core.isPaused;
  }

  /** Close the transport now, without a closing handshake. */
  terminate(): void {
    this.transport.destroy();
  }
}
