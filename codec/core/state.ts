/**
 * The state the protocol core's parts share, as plain records: the input held before the frame
 * layer exists, what the opening handshake settled, and the result of the last step. One object
 * of each per connection, owned by `ProtocolCore` and handed to the parts that read or write it
 * (./handshake-reader.ts, ./lifecycle-sends.ts, ./persistence.ts), so that each part is a small
 * module rather than a section of one large class.
 */
import type { RemoteProtocolError } from "../errors.js";
import type { Event, Request } from "../events.js";
import type { Extension } from "../extension.js";
import type { UpgradeRequest } from "../handshake/index.js";
import { packRequest, unpackRequest } from "../handshake/packed-request.js";
import type { PeerEvent } from "./types.js";

/** Bytes received and EOF. Before OPEN bytes wait in `held`; from OPEN on they go to the decoder. */
export class HeldInput {
  held: Uint8Array[] = [];
  eof = false;
}

/** Empty lists shared by every record (each one's own were 64 bytes of every idle connection). */
export const NO_EXTENSIONS: readonly Extension[] = Object.freeze([]);
const NO_RESPONSES: readonly string[] = Object.freeze([]);

/** What the opening handshake sent, received and settled. */
export class HandshakeRecord {
  /** Client, once its Request is out: what it offered (the response is checked against it). */
  clientOffer: UpgradeRequest | null = null;
  /**
   * Server, once a valid request arrived: the Request, then from OPEN on its packed form
   * (../handshake/packed-request.ts), which only persistence reads again.
   */
  private request: Request | string | null = null;
  /** The negotiated extensions, in the order they apply. */
  extensions: readonly Extension[] = NO_EXTENSIONS;
  /** Kept for persistence only: written once per handshake, never on the frame path. */
  subprotocol: string | null = null;
  /** Client: the server's extension elements, in the order of `extensions`. */
  extensionResponses: readonly string[] = NO_RESPONSES;

  /** The received request (after OPEN, a new Request equal to it on each call). */
  get receivedRequest(): Request | null {
    const request = this.request;
    return typeof request === "string" ? unpackRequest(request) : request;
  }

  set receivedRequest(request: Request | null) {
    this.request = request;
  }

  /** The connection is open: keep the request packed (the same string the endpoint keeps). */
  packReceivedRequest(): void {
    const request = this.request;
    if (request === null || typeof request === "string") return;
    this.request = packRequest(request) ?? request;
  }
}

/**
 * What one step of the core produced: the protocol event, the lifecycle change the statechart
 * must take, and the peer's handshake error — each may come with or without the others.
 */
export interface StepResult {
  readonly event: Event | null;
  readonly transition: PeerEvent | null;
  readonly error: RemoteProtocolError | null;
}

/**
 * The core's one `StepResult`, filled by each step (the parts set `transition` and `error` as
 * they read): a record per frame would be an allocation per frame on the hot path, so a step's
 * result is valid until the next step.
 */
export class StepOutcome implements StepResult {
  event: Event | null = null;
  transition: PeerEvent | null = null;
  error: RemoteProtocolError | null = null;

  /** Start a step: nothing produced yet. */
  clear(): void {
    this.event = null;
    this.transition = null;
    this.error = null;
  }
}

/** The lifecycle event for EOF (one object: it carries nothing). */
export const EOF: PeerEvent = Object.freeze({ type: "transport.eof" });
