/**
 * The standalone server of wsmachine/deno and wsmachine/bun: the same contract as
 * wsmachine/node's WebSocketServer (events 'connection', 'handshake', 'clientError', `clients`,
 * `close()` that closes every connection with 1001), over a runtime's listener that hands it one
 * Transport per accepted connection. The core parses each HTTP upgrade request itself.
 */
import { MemoryBudget } from "../../codec/memory-budget.js";
import { ConnectionType } from "../../codec/constants.js";
import { WSConnection, type ConnectionOptions } from "../connection.js";
import type { Request } from "../../codec/events.js";
import type { PerMessageDeflateOptions } from "../extensions/permessage-deflate.js";
import { PerMessageDeflate } from "../extensions/permessage-deflate.js";
import { Emitter } from "./emitter.js";
import { WebSocketEndpoint, type EndpointOptions } from "./endpoint.js";
import { SERVER_DEFAULTS, acceptWith, serverConnectionOptions, serverEndpointOptions, type ConnectionLimits } from "./glue.js";
import type { Runtime, Transport } from "./transport.js";
import { closeEndpoints, serverEndpointTracker, type EndpointTracker } from "./served-endpoints.js";

export interface ServerOptions extends EndpointOptions, ConnectionLimits {
  /** Subprotocols this server speaks, in order of preference (used when `handleRequest` is not given). */
  subprotocols?: readonly string[];
  /** Accept permessage-deflate (RFC 7692) when offered: true, or the parameters (default false). */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /** Bytes all connections together may hold (default SERVER_DEFAULTS.maxBufferedBytes; see wsmachine/node). */
  maxBufferedBytes?: number;
  /** The memory budget the connections share (overrides `maxBufferedBytes`). */
  memoryBudget?: MemoryBudget;
}

export interface WebSocketServerEvents {
  connection: [endpoint: WebSocketEndpoint, request: Request];
  handshake: [endpoint: WebSocketEndpoint];
  clientError: [error: Error, endpoint: WebSocketEndpoint];
  error: [error: Error];
}

/** Where a server listens, as the runtime reports it. */
export interface ListenAddress {
  hostname: string;
  port: number;
}

/** A runtime's listening socket: accepts connections and hands each over as a Transport. */
export interface Listener {
  listen(port: number, hostname: string, accept: (transport: Transport) => void): Promise<ListenAddress>;
  /** Stop accepting; connections already accepted go on. */
  close(): void;
}

/** The default decision with the portable permessage-deflate engine. */
export function acceptRequest(request: Request, options: Pick<ServerOptions, "subprotocols" | "perMessageDeflate"> = {}) {
  return acceptWith(request, options, (parameters) => new PerMessageDeflate(parameters));
}

export class WebSocketServer extends Emitter<WebSocketServerEvents> {
  /** The endpoints that completed the handshake and have not closed yet. */
  readonly clients = new Set<WebSocketEndpoint>();
  readonly memoryBudget: MemoryBudget;
  /** The endpoints still in their opening handshake (the open ones are in `clients`). */
  private readonly handshaking = new Set<WebSocketEndpoint>();
  /** Made once, not per connection (see wsmachine/node's WebSocketServer). */
  private readonly connectionOptions: ConnectionOptions;
  private readonly endpointOptions: EndpointOptions;
  private readonly tracker: EndpointTracker<WebSocketEndpoint>;
  private readonly options: ServerOptions;
  private readonly listener: Listener;
  private readonly runtime: Runtime;
  private readonly scheme: "ws" | "wss";
  private bound: ListenAddress | null = null;

  constructor(listener: Listener, options: ServerOptions, runtime: Runtime, secure: boolean) {
    super();
    this.listener = listener;
    this.options = options;
    this.runtime = runtime;
    this.scheme = secure ? "wss" : "ws";
    this.memoryBudget = options.memoryBudget ?? new MemoryBudget(options.maxBufferedBytes ?? SERVER_DEFAULTS.maxBufferedBytes);
    this.connectionOptions = serverConnectionOptions(options, this.memoryBudget);
    this.endpointOptions = serverEndpointOptions<WebSocketEndpoint>(options, this.memoryBudget, (request) => acceptRequest(request, options));
    this.tracker = serverEndpointTracker<WebSocketEndpoint, Request>(this, this.handshaking, this.clients);
  }

  /** Start listening (default 127.0.0.1, port 0: the system picks one). */
  async listen(port = 0, hostname = "127.0.0.1"): Promise<ListenAddress> {
    this.bound = await this.listener.listen(port, hostname, (transport) => this.accept(transport));
    return this.bound;
  }

  /** The URL clients connect to, e.g. ws://127.0.0.1:8080/ (once listening). */
  get url(): string {
    if (this.bound === null) throw new Error("the server is not listening: call listen() first");
    const host = this.bound.hostname.includes(":") ? `[${this.bound.hostname}]` : this.bound.hostname;
    return `${this.scheme}://${host}:${this.bound.port}/`;
  }

  /** Stop accepting, close every open connection with `code` (1001 by default), abort handshakes; resolves when all are closed. */
  async close(code = 1001, reason?: string): Promise<void> {
    this.listener.close();
    await closeEndpoints([...this.clients, ...this.handshaking], code, reason);
  }

  private accept(transport: Transport): void {
    const connection = new WSConnection(ConnectionType.SERVER, this.connectionOptions);
    const endpoint = new WebSocketEndpoint(transport, connection, this.endpointOptions, this.runtime);
    this.tracker.track(endpoint);
    this.emit("handshake", endpoint);
  }
}
