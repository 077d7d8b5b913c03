/**
 * Reading the opening handshake (RFC 6455 §4): a server's upgrade request, a client's response,
 * and the body of a rejection. Reads the bytes held before the frame layer exists, records what
 * the handshake settled, and reports the lifecycle change or the RemoteProtocolError in the
 * step's outcome; the statechart decides what they mean.
 */
import { CloseReason } from "../constants.js";
import { RemoteProtocolError } from "../errors.js";
import { CloseConnection, type Event, type Headers, type RejectData, type Request } from "../events.js";
import { appendList } from "../header-lists.js";
import * as handshake from "../handshake/index.js";
import { EOF, type HandshakeRecord, type HeldInput, type StepOutcome } from "./state.js";

export class HandshakeReader {
  private readonly input: HeldInput;
  private readonly record: HandshakeRecord;
  private readonly outcome: StepOutcome;
  private readonly maxHeadSize: number | undefined;
  private headParser: handshake.HttpHeadParser | null = null;
  private bodyReader: handshake.RejectBodyReader | null = null;

  constructor(input: HeldInput, record: HandshakeRecord, outcome: StepOutcome, maxHeadSize: number | undefined) {
    this.input = input;
    this.record = record;
    this.outcome = outcome;
    this.maxHeadSize = maxHeadSize;
  }

  /** Server: the request was parsed by another HTTP stack (node:http's 'upgrade'). */
  initiateUpgrade(headers: Headers, target: string): Request | null {
    try {
      return this.requestReceived(handshake.validateUpgradeRequestHeaders(headers, target));
    } catch (error) {
      this.fail(error);
      return null;
    }
  }

  /** Server, RFC 6455 §4.2.1: parse the upgrade request. */
  readRequest(): Event | null {
    try {
      const head = this.readHead("request");
      if (head === null) return this.eofWhileConnecting();
      return this.requestReceived(handshake.validateUpgradeRequest(head as handshake.HttpRequestHead));
    } catch (error) {
      this.fail(error);
      return null;
    }
  }

  /** Client, RFC 6455 §4.1: parse the response to our request. */
  readResponse(): Event | null {
    const offer = this.record.clientOffer;
    if (offer === null) throw new Error("internal: response read before the request was sent");
    try {
      // The parser skips 1xx informational responses (RFC 9110 §15.2; README, "Differences from wsproto", row 5).
      const head = this.readHead("response");
      if (head === null) return this.eofWhileConnecting();
      const outcome = handshake.validateUpgradeResponse(head as handshake.HttpResponseHead, offer);
      if (outcome.kind === "accept") {
        const record = this.record;
        record.extensions = outcome.event.extensions;
        record.subprotocol = outcome.event.subprotocol;
        if (record.extensions.length > 0) record.extensionResponses = extensionElements(head.headers);
        this.outcome.transition = { type: "peer.accepted", accept: outcome.event };
        return outcome.event;
      }
      this.bodyReader = outcome.body;
      this.outcome.transition = { type: "peer.rejected", reject: outcome.event };
      return outcome.event;
    } catch (error) {
      this.fail(error);
      return null;
    }
  }

  /** Client: the body of a rejection, as RejectData events. */
  readRejectionBody(): Event | null {
    const reader = this.bodyReader;
    // No reader: a restored connection, whose body in flight was not persisted; only EOF ends it.
    if (reader === null) return this.eofWhileConnecting();
    if (reader.finished) return null;
    const held = this.input.held;
    try {
      let chunk: RejectData | null = null;
      while (chunk === null && held.length > 0) chunk = reader.push(held.shift()!);
      // EOF ends a body delimited by EOF; it cuts short any other (RemoteProtocolError).
      if (chunk === null && this.input.eof) chunk = reader.push(null);
      if (chunk === null) return null;
      if (chunk.bodyFinished) {
        this.outcome.transition = { type: "peer.rejectBodyFinished" };
        held.length = 0; // bytes after the body: the server closes after a rejection
      }
      return chunk;
    } catch (error) {
      this.fail(error);
      return null;
    }
  }

  /** EOF before the handshake finished closes with 1006 (README, "Differences from wsproto", row 3). */
  eofWhileConnecting(): Event | null {
    if (!this.input.eof || this.outcome.transition !== null) return null;
    this.outcome.transition = EOF;
    return new CloseConnection({ code: CloseReason.ABNORMAL_CLOSURE });
  }

  /** Server: a valid upgrade request; the statechart moves to "request received". */
  private requestReceived(request: Request): Request {
    this.record.receivedRequest = request;
    this.outcome.transition = { type: "peer.request", request };
    return request;
  }

  /** Feed held bytes to the head parser; the bytes after a complete head stay held. */
  private readHead(kind: "request" | "response"): handshake.HttpHead | null {
    if (this.headParser === null) {
      this.headParser = new handshake.HttpHeadParser<handshake.HeadKind>({ kind, maxHeadSize: this.maxHeadSize });
    }
    const parser = this.headParser;
    const held = this.input.held;
    while (held.length > 0) {
      const head = parser.push(held.shift()!);
      if (head !== null) {
        const rest = parser.takeRest();
        if (rest.length > 0) held.unshift(rest);
        this.headParser = null;
        return head;
      }
    }
    return null;
  }

  private fail(error: unknown): void {
    if (!(error instanceof RemoteProtocolError)) throw error;
    this.outcome.error = error;
    this.outcome.transition = { type: "peer.handshakeFailed", message: error.message };
  }
}

/** The elements of a response's Sec-WebSocket-Extensions headers (already validated by the handshake). */
function extensionElements(headers: Headers): string[] {
  const elements: string[] = [];
  for (const [name, value] of headers) if (name === "sec-websocket-extensions") appendList(value, elements);
  return elements;
}
