/**
 * What a lifecycle send writes: a client's Request, a server's AcceptConnection or
 * RejectConnection (and the rejection's body), and a close frame. A send is prepared first —
 * its bytes built, nothing committed — so that the statechart takes the transition only for an
 * event that can be sent, and commits (records the handshake's outcome) only when it does.
 */
import { ConnectionType, type ConnectionState } from "../constants.js";
import { LocalProtocolError } from "../errors.js";
import { AcceptConnection, CloseConnection, Event, eventName, RejectConnection, RejectData, Request } from "../events.js";
import * as handshake from "../handshake/index.js";
import { NO_EXTENSIONS, type HandshakeRecord } from "./state.js";
import type { Entropy } from "./types.js";

interface Prepared {
  readonly event: Event;
  readonly bytes: Uint8Array | null;
  readonly error: LocalProtocolError | null;
  readonly commit: (() => void) | null;
}

export class SendPreparation {
  private readonly role: ConnectionType;
  private readonly record: HandshakeRecord;
  private readonly entropy: Entropy | undefined;
  private readonly encodeClose: (event: CloseConnection) => Uint8Array;
  private bodyWriter: handshake.RejectBodyWriter | null = null;
  private prepared: Prepared | null = null;

  constructor(role: ConnectionType, record: HandshakeRecord, entropy: Entropy | undefined, encodeClose: (event: CloseConnection) => Uint8Array) {
    this.role = role;
    this.record = record;
    this.entropy = entropy;
    this.encodeClose = encodeClose;
  }

  /** Build the bytes for `event` without committing; the LocalProtocolError that refuses it, or null. */
  prepare(event: Event): LocalProtocolError | null {
    if (this.prepared !== null && this.prepared.event === event) return this.prepared.error;
    let prepared: Prepared;
    try {
      prepared = this.build(event);
    } catch (caught) {
      if (!(caught instanceof LocalProtocolError)) throw caught;
      prepared = { event, bytes: null, error: caught, commit: null };
    }
    this.prepared = prepared;
    return prepared.error;
  }

  /** Commit the prepared send and return its bytes. */
  take(): Uint8Array {
    const prepared = this.prepared;
    this.prepared = null;
    if (prepared === null || prepared.bytes === null) throw new Error("internal: no prepared send");
    prepared.commit?.();
    return prepared.bytes;
  }

  /** The LocalProtocolError for an event no transition accepted in `state`. */
  refusal(event: Event, state: ConnectionState): LocalProtocolError {
    const prepared = this.prepared;
    this.prepared = null;
    if (prepared !== null && prepared.event === event && prepared.error !== null) return prepared.error;
    if (!(event instanceof Event)) return new LocalProtocolError(`ws.send takes a wsmachine Event, not ${eventName(event)}`);
    if (event instanceof Request && state !== "CLOSED") {
      return new LocalProtocolError(
        this.role === ConnectionType.CLIENT
          ? `Request was already sent (the connection is ${state}): a client sends one opening handshake (RFC 6455 §4.1)`
          : "Request cannot be sent by a server: the client sends it, the server answers with AcceptConnection or RejectConnection (RFC 6455 §4.2.2)",
      );
    }
    if (state === "REMOTE_CLOSING") {
      return new LocalProtocolError(
        `${eventName(event)} cannot be sent in state REMOTE_CLOSING: the peer has closed, and all that may follow is ` +
          "the close reply, `event.response()` of the CloseConnection received (RFC 6455 §5.5.1)",
      );
    }
    return new LocalProtocolError(`${eventName(event)} cannot be sent by a ${this.role} in state ${state}`);
  }

  private build(event: Event): Prepared {
    const record = this.record;
    if (event instanceof Request) {
      const built = handshake.buildUpgradeRequest(event, this.entropy?.nonce());
      return { event, bytes: built.bytes, error: null, commit: () => (record.clientOffer = built) };
    }
    if (event instanceof AcceptConnection) {
      const request = record.receivedRequest;
      if (request === null) throw new LocalProtocolError("AcceptConnection needs a received Request");
      const built = handshake.buildAcceptResponse(request, event);
      const commit = (): void => {
        // Most connections enable none: the shared empty list rather than one per open connection.
        record.extensions = built.extensions.length === 0 ? NO_EXTENSIONS : built.extensions;
        record.subprotocol = event.subprotocol ?? null;
        record.packReceivedRequest();
      };
      return { event, bytes: built.bytes, error: null, commit };
    }
    if (event instanceof RejectConnection) {
      const built = handshake.buildRejectResponse(event);
      return { event, bytes: built.bytes, error: null, commit: () => (this.bodyWriter = built.body) };
    }
    if (event instanceof RejectData) {
      const writer = this.bodyWriter;
      if (writer === null) throw new LocalProtocolError("RejectData needs a RejectConnection with hasBody: true first");
      return { event, bytes: writer.write(event), error: null, commit: null };
    }
    if (event instanceof CloseConnection) return { event, bytes: this.encodeClose(event), error: null, commit: null };
    throw new LocalProtocolError(`${eventName(event)} is not an event that can be sent`);
  }
}
