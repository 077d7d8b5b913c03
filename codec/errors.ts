import type { RejectConnection } from "./events.js";

/** Base of every error the protocol layer raises on purpose. */
export class ProtocolError extends Error {
  override name = "ProtocolError";
}

/**
 * The caller asked for something the current state or the RFC forbids. Nothing was emitted
 * and the connection's state is unchanged: the caller may carry on with a valid request.
 */
export class LocalProtocolError extends ProtocolError {
  override name = "LocalProtocolError";
}

/**
 * The peer sent something invalid during the opening handshake. `eventHint` is the event to
 * send in reply (a `RejectConnection` with status 400, 426 or 431 on a server), or null when
 * there is nothing useful to say (a client).
 */
export class RemoteProtocolError extends ProtocolError {
  override name = "RemoteProtocolError";
  readonly eventHint: RejectConnection | null;

  constructor(message: string, eventHint: RejectConnection | null = null) {
    super(message);
    this.eventHint = eventHint;
  }
}
