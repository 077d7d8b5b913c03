/**
 * What every server (wsmachine/node's on node:net and on node:http2, and the Deno and Bun ones)
 * does with its endpoints the same way: keep the set of those in their handshake and of the open ones, report
 * a handshake that failed, and close them all on shutdown.
 */
import { ConnectionState } from "../../codec/constants.js";
import type { OpenWatchable } from "./endpoint-core.js";

/** What a server needs of an endpoint to keep track of it and close it. */
export interface ServedEndpoint extends OpenWatchable {
  readonly state: ConnectionState;
  readonly closed: Promise<unknown>;
  close(code?: number, reason?: string): boolean;
  terminate(): void;
}

/**
 * Keeps a server's endpoints in `handshaking` until they open, then in `clients` until they
 * close: each in one set at a time (an idle server's two sets of all its connections were two
 * hash tables' worth of slots per connection, bench:e2e R1).
 * An endpoint's errors before it opens go to `handshakeError` (the server's 'clientError');
 * `opened` is called when it opens (the server's 'connection').
 *
 * The listeners are made once per server, not per endpoint: emitters call a listener with the
 * endpoint as `this`, which is all they need. Four closures per connection, held as long as it
 * was open, were a good part of an idle connection's heap (bench:e2e R1, docs/performance.md).
 */
export class EndpointTracker<Endpoint extends ServedEndpoint> {
  private readonly handshaking: Set<Endpoint>;
  private readonly onError: (this: Endpoint, error: Error) => void;
  private readonly onOpen: (this: Endpoint) => void;
  private readonly onClose: (this: Endpoint) => void;

  constructor(
    handshaking: Set<Endpoint>,
    clients: Set<Endpoint>,
    handshakeError: (endpoint: Endpoint, error: Error) => void,
    opened: (endpoint: Endpoint) => void,
  ) {
    this.handshaking = handshaking;
    const tracker = this;
    this.onError = function (this: Endpoint, error: Error): void {
      handshakeError(this, error);
    };
    this.onOpen = function (this: Endpoint): void {
      this.off("error", tracker.onError);
      this.off("open", tracker.onOpen);
      handshaking.delete(this);
      clients.add(this);
      opened(this);
    };
    this.onClose = function (this: Endpoint): void {
      this.off("error", tracker.onError);
      this.off("open", tracker.onOpen);
      this.off("close", tracker.onClose);
      handshaking.delete(this);
      clients.delete(this);
    };
  }

  /** Track a new endpoint. */
  track(endpoint: Endpoint): void {
    this.handshaking.add(endpoint);
    // The emitters (node:events', ./emitter.ts) call listeners with the endpoint as `this`.
    endpoint.on("error", this.onError as (error: Error) => void);
    endpoint.on("open", this.onOpen as () => void);
    endpoint.on("close", this.onClose as () => void);
  }
}

/** The events a server reports its endpoints' news with ('clientError', 'connection'). */
export interface EndpointEvents<Endpoint, Request> {
  listenerCount(name: "clientError"): number;
  emit(name: "clientError", error: Error, endpoint: Endpoint): boolean;
  emit(name: "connection", endpoint: Endpoint, request: Request): boolean;
}

/**
 * The tracker every server makes: a failed handshake is its 'clientError' (emitted only when
 * listened for, so that a peer's bad request never throws out of an emit), an opened endpoint
 * its 'connection', with the upgrade request.
 */
export function serverEndpointTracker<Endpoint extends ServedEndpoint & { readonly request: Request | null }, Request>(
  server: EndpointEvents<Endpoint, Request>,
  handshaking: Set<Endpoint>,
  clients: Set<Endpoint>,
): EndpointTracker<Endpoint> {
  return new EndpointTracker<Endpoint>(
    handshaking,
    clients,
    (endpoint, error) => {
      if (server.listenerCount("clientError") > 0) server.emit("clientError", error, endpoint);
    },
    (endpoint) => server.emit("connection", endpoint, endpoint.request!),
  );
}

/**
 * Close every endpoint with `code` (1001 "going away" on shutdown): open ones with the closing
 * handshake, bounded by their `closeTimeout`; those still in their opening handshake are
 * aborted. Resolves when all are closed.
 */
export async function closeEndpoints(endpoints: Iterable<ServedEndpoint>, code: number, reason?: string): Promise<void> {
  const closed: Promise<unknown>[] = [];
  for (const endpoint of endpoints) {
    closed.push(endpoint.closed);
    const state = endpoint.state;
    if (state === ConnectionState.OPEN || state === ConnectionState.REMOTE_CLOSING) endpoint.close(code, reason);
    else if (state === ConnectionState.CONNECTING) endpoint.terminate();
  }
  await Promise.all(closed);
}
