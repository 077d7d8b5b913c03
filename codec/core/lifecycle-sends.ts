/**
 * What a lifecycle send writes: a client's Request, a server's AcceptConnection or
 * RejectConnection (and the rejection's body), and a close frame. Asking and writing are apart:
 * `refusal` is the statechart's guard's question — it validates the event, encoding and
 * changing nothing, so that `snapshot.can()` may ask it — and `write` encodes the event and
 * records what the handshake settled, once the transition is taken.
 */
import { ConnectionType, type ConnectionState } from "../constants.js";
import { LocalProtocolError } from "../errors.js";
import { AcceptConnection, CloseConnection, Event, eventName, RejectConnection, RejectData, Request } from "../events.js";
import type { FrameEncoder } from "../frame-encoder.js";
import * as handshake from "../handshake/index.js";
import { closeRefusal, encodeClose } from "./frame-writer.js";
import { NO_EXTENSIONS, type HandshakeRecord } from "./state.js";
import type { Entropy, FrameTrace } from "./types.js";

export class LifecycleSends {
  private bodyWriter: handshake.RejectBodyWriter | null = null;

  constructor(
    private readonly role: ConnectionType,
    private readonly record: HandshakeRecord,
    private readonly entropy: Entropy | undefined,
    /** The frame encoder once OPEN (for the close frame), and the frame trace. */
    private readonly frames: () => { readonly encoder: FrameEncoder | null; readonly trace: FrameTrace | null },
  ) {}

  /** The LocalProtocolError that sending `event` would raise, or null; encodes and changes nothing. */
  refusal(event: Event): LocalProtocolError | null {
    try {
      if (event instanceof Request) handshake.checkUpgradeRequest(event);
      else if (event instanceof AcceptConnection) handshake.checkAcceptResponse(this.receivedRequest(), event);
      else if (event instanceof RejectConnection) handshake.rejectFraming(event);
      else if (event instanceof RejectData) return this.writer().refusal(event);
      else if (event instanceof CloseConnection) return closeRefusal(this.frames().encoder, event);
      else return new LocalProtocolError(`${eventName(event)} is not an event that can be sent`);
    } catch (caught) {
      if (caught instanceof LocalProtocolError) return caught;
      throw caught;
    }
    return null;
  }

  /**
   * Encode `event`, which `refusal` accepted, and record what it settles. It throws only for
   * what no question can find without changing something: an `Entropy` giving an invalid nonce,
   * or an Extension whose `accept()` answers with an invalid header value (RFC 6455 §9.1).
   */
  write(event: Event): Uint8Array {
    const record = this.record;
    if (event instanceof Request) {
      const built = handshake.buildUpgradeRequest(event, this.entropy?.nonce());
      record.clientOffer = built;
      return built.bytes;
    }
    if (event instanceof AcceptConnection) {
      const built = handshake.buildAcceptResponse(this.receivedRequest(), event);
      // Most connections enable none: the shared empty list rather than one per open connection.
      record.extensions = built.extensions.length === 0 ? NO_EXTENSIONS : built.extensions;
      record.subprotocol = event.subprotocol ?? null;
      record.packReceivedRequest();
      return built.bytes;
    }
    if (event instanceof RejectConnection) {
      const built = handshake.buildRejectResponse(event);
      this.bodyWriter = built.body;
      return built.bytes;
    }
    if (event instanceof RejectData) return this.writer().write(event);
    if (event instanceof CloseConnection) {
      const { encoder, trace } = this.frames();
      return encodeClose(encoder, trace, event);
    }
    throw new LocalProtocolError(`${eventName(event)} is not an event that can be sent`);
  }

  /** The LocalProtocolError for an event that the state `state` does not send at all. */
  stateRefusal(event: Event, state: ConnectionState): LocalProtocolError {
    if (!(event instanceof Event)) return new LocalProtocolError(`ws.send takes a wsmachine Event, not ${eventName(event)}`);
    if (state === "CLOSED") return new LocalProtocolError(`${eventName(event)} cannot be sent: the connection is CLOSED`);
    if (event instanceof Request) {
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

  private receivedRequest(): Request {
    const request = this.record.receivedRequest;
    if (request === null) throw new LocalProtocolError("AcceptConnection needs a received Request (RFC 6455 §4.2.2)");
    return request;
  }

  private writer(): handshake.RejectBodyWriter {
    const writer = this.bodyWriter;
    if (writer === null) throw new LocalProtocolError("RejectData needs a RejectConnection with hasBody: true first");
    return writer;
  }
}
