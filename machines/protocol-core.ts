/**
 * What the connection statechart's actions do on the wire: the codec state of one connection
 * (handshake parser, frame decoder and encoder, buffered input) and the steps that turn input
 * into events and events into bytes.
 *
 * The core never decides the lifecycle. `step(phase)` is told how the current state reads input
 * and reports, besides the event it produced, the lifecycle `PeerEvent` the statechart must take
 * (a request, a close frame, a failure, EOF). Both drivers use it the same way:
 * - the statechart's own actions, when the machine runs as an actor (`ws.receive`);
 * - `WSConnection`, which calls `step` directly in `events()` so that a data frame costs no
 *   `actor.send`, and sends the actor only the `PeerEvent`s.
 */
import { CloseReason, ConnectionType, DEFAULT_MAX_FRAGMENTS, DEFAULT_MAX_MESSAGE_SIZE, type ConnectionState } from "../codec/constants.js";
import { LocalProtocolError, RemoteProtocolError } from "../codec/errors.js";
import {
  AcceptConnection,
  BytesMessage,
  CloseConnection,
  Event,
  Message,
  Ping,
  Pong,
  RejectConnection,
  RejectData,
  Request,
  TextMessage,
  describeValue,
} from "../codec/events.js";
import type { Extension } from "../codec/extension.js";
import { Opcode, ParseFailed, type ClosePayload, type Frame } from "../codec/frame.js";
import { FrameDecoder } from "../codec/frame-decoder.js";
import type { MemoryBudget } from "../codec/memory-budget.js";
import { FrameEncoder } from "../codec/frame-encoder.js";
import type { Headers } from "../codec/events.js";
import { appendList, extensionName } from "../codec/header-lists.js";
import * as handshake from "../codec/handshake/index.js";

/**
 * How the current state reads input. The statechart names the phase in each state's actions,
 * so the way each state treats the peer's bytes is visible in the chart.
 */
export type InputPhase =
  | "buffering" // keep bytes for later (before the request is sent or answered); EOF ends it
  | "awaitingRequest" // server: parse the upgrade request
  | "awaitingResponse" // client: parse the upgrade response
  | "receivingBody" // client: read a rejection's body
  | "open" // frames
  | "localClosing" // frames, until the peer's close
  | "remoteClosing" // the peer closed: ignore bytes, wait for EOF
  | "failed"; // the peer broke the protocol: discard bytes, wait for EOF

/** Lifecycle changes caused by the peer, as statechart events. */
export type PeerEvent =
  | { type: "peer.request"; request: Request }
  | { type: "peer.accepted"; accept: AcceptConnection }
  | { type: "peer.rejected"; reject: RejectConnection }
  | { type: "peer.rejectBodyFinished" }
  | { type: "peer.handshakeFailed"; message: string }
  | { type: "peer.close"; code: number; reason: string | null }
  | { type: "peer.protocolError"; code: number; reason: string }
  | { type: "transport.eof" };

/**
 * One frame (or piece of a frame) seen by the opt-in frame trace: what an inspector shows
 * beside the lifecycle, since frames do not pass through the actor.
 */
export interface FrameTraceRecord {
  readonly direction: "in" | "out";
  /** The frame's opcode: for received data pieces the message's (TEXT/BINARY), as in `Frame`. */
  readonly opcode: number;
  /**
   * Received: the length of the delivered piece (after decompression; for text, UTF-16 code
   * units of the decoded string). Sent: the payload length on the wire (compressed, if the
   * message was). Each side reports what it has at hand without extra work.
   */
  readonly length: number;
  /** The last piece of its frame (received pieces of a large frame come as they arrive). */
  readonly frameFinished: boolean;
  /** For close frames: the status code (1005 for none). */
  readonly closeCode?: number;
}

export type FrameTrace = (record: FrameTraceRecord) => void;

/**
 * Where a client's randomness comes from: the handshake nonce (RFC 6455 §4.1) and each frame's
 * masking key (§5.3). Only for replaying a recorded connection (`replayTrace`), which must pick
 * what the original picked; a live connection must keep the default, crypto.getRandomValues.
 */
export interface Entropy {
  /** The Sec-WebSocket-Key: base64 of 16 bytes. */
  nonce(): string;
  /** Fills key[0..3] with the next frame's masking key. */
  maskKey(key: Uint8Array): void;
}

export interface ProtocolCoreOptions {
  /**
   * Called for every frame received or sent once OPEN. Off by default, and then it costs one
   * null check per frame.
   */
  frameTrace?: FrameTrace;
  /** Largest incoming message, after decompression (default 64 MiB); past it: close 1009. */
  maxMessageSize?: number;
  /** Most frames per incoming message, empty ones included (default 65536); past it: close 1008. */
  maxFragments?: number;
  /** Largest HTTP head of the opening handshake (default 16 KiB). */
  maxHandshakeHeadSize?: number;
  /** Deliver each incoming data message whole, as one event (default false: piece by piece). */
  assembleMessages?: boolean;
  /** Start in OPEN: the handshake was done by another stack (`Connection`). */
  framesOnly?: { extensions?: readonly Extension[]; trailingData?: Uint8Array };
  /**
   * False when `WSConnection` reads input itself in `events()`; the statechart's actions then
   * leave input alone. Internal.
   */
  readInputInActor?: boolean;
  /**
   * Restoring a persisted connection that negotiated extensions: a fresh, unnegotiated extension
   * object configured as the original was (e.g. `() => new PerMessageDeflate(sameOptions)`).
   * The handshake's negotiation is replayed on it. Used only when restoring.
   */
  restoreExtension?: (name: string) => Extension;
  /**
   * A memory budget shared with other connections: what this one keeps for incomplete messages
   * is reserved from it first, and a message that would exceed it fails the connection with
   * 1013 (see codec/memory-budget.ts). Not persisted.
   */
  memoryBudget?: MemoryBudget;
  /** Most payload bytes one frame read works through (see FrameDecoderOptions.workQuantum). Not persisted. */
  workQuantum?: number;
  /** A client's nonce and masking keys (default: crypto.getRandomValues). For replay only. */
  entropy?: Entropy;
}

/**
 * A connection's protocol state as plain data (JSON-safe), carried by the persisted snapshot of
 * the connection actor in place of the `ProtocolCore` object. It holds what the lifecycle needs:
 * the role and limits, what the handshake sent or received and settled (subprotocol, the
 * extensions' negotiation, to be replayed), whether EOF was seen and which halves of the frame
 * layer exist. It does not hold frame-level state: buffered input (a partial HTTP head, a
 * partially received frame, an unfinished fragmented message) and compression contexts are
 * dropped, so a restored connection reads from a frame boundary with fresh contexts.
 */
export interface PersistedProtocolCore {
  readonly version: 1;
  readonly role: ConnectionType;
  /** The limits; null for none (Infinity, which JSON cannot hold). */
  readonly maxMessageSize: number | null;
  readonly maxFragments: number | null;
  readonly maxHandshakeHeadSize: number | null;
  /** Absent in descriptions made before the option existed: false. */
  readonly assembleMessages?: boolean;
  readonly framesOnly: boolean;
  readonly readInputInActor: boolean;
  readonly eofReceived: boolean;
  /** Client, once its Request is out: what it offered (the response is checked against it). */
  readonly offer: { readonly nonce: string; readonly subprotocols: readonly string[]; readonly extensions: readonly string[] } | null;
  /** Server, once a valid request arrived: that request, as received. */
  readonly request: {
    readonly host: string;
    readonly target: string;
    readonly subprotocols: readonly string[];
    readonly extensions: readonly string[];
    readonly extraHeaders: Headers;
  } | null;
  /** The subprotocol the handshake settled on. */
  readonly subprotocol: string | null;
  /** The negotiated extensions, in the order they apply. */
  readonly extensions: readonly PersistedExtension[];
  /** Which halves of the frame layer exist (rebuilt at a frame boundary on restore). */
  readonly frames: { readonly decoding: boolean; readonly encoding: boolean };
}

export interface PersistedExtension {
  readonly name: string;
  /**
   * Client: the server's Sec-WebSocket-Extensions element for it, replayed through `finalize`.
   * Server: null, the offers of the persisted request are replayed through `accept`, as the
   * handshake did. Frames-only connections (`Connection`): null, `restoreExtension` must return
   * an extension that is already negotiated.
   */
  readonly response: string | null;
}

const EMPTY = new Uint8Array(0);

export class ProtocolCore {
  readonly role: ConnectionType;
  readonly client: boolean;
  readonly framesOnly: boolean;
  readonly readsOutsideActor: boolean;
  readonly maxMessageSize: number;
  readonly maxFragments: number;
  readonly assembleMessages: boolean;
  private readonly maxHandshakeHeadSize: number | undefined;
  private readonly frameTrace: FrameTrace | null;
  private readonly memoryBudget: MemoryBudget | undefined;
  private readonly workQuantum: number | undefined;
  private readonly entropy: Entropy | undefined;

  // Input. Before OPEN, bytes wait in `heldInput`; from OPEN on they go straight to the decoder.
  private heldInput: Uint8Array[] = [];
  private eofReceived = false;
  private headParser: handshake.HttpHeadParser | null = null;
  private bodyReader: handshake.RejectBodyReader | null = null;
  private bodyWriter: handshake.RejectBodyWriter | null = null;
  private decoder: FrameDecoder | null = null;
  private encoder: FrameEncoder | null = null;

  // What the handshake settled.
  private clientOffer: handshake.UpgradeRequest | null = null;
  private receivedRequest: Request | null = null;
  private extensions: readonly Extension[] = [];
  // Kept for persistence only (`describe`): written once per handshake, never on the frame path.
  private subprotocol: string | null = null;
  /** Client: the server's extension elements, in the order of `extensions`. */
  private extensionResponses: readonly string[] = [];

  // Results handed to the driver by `take…` after a step or a prepared send.
  private transition: PeerEvent | null = null;
  private handshakeError: RemoteProtocolError | null = null;
  private prepared: { event: Event; bytes: Uint8Array | null; error: LocalProtocolError | null; commit: (() => void) | null } | null =
    null;

  constructor(role: ConnectionType, options: ProtocolCoreOptions = {}) {
    this.role = role;
    this.client = role === ConnectionType.CLIENT;
    this.maxMessageSize = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
    this.maxFragments = options.maxFragments ?? DEFAULT_MAX_FRAGMENTS;
    this.assembleMessages = options.assembleMessages === true;
    this.maxHandshakeHeadSize = options.maxHandshakeHeadSize;
    this.frameTrace = options.frameTrace ?? null;
    this.memoryBudget = options.memoryBudget;
    this.workQuantum = options.workQuantum;
    this.entropy = options.entropy;
    this.readsOutsideActor = options.readInputInActor === false;
    this.framesOnly = options.framesOnly !== undefined;
    if (options.framesOnly !== undefined) {
      this.extensions = options.framesOnly.extensions ?? [];
      const trailing = options.framesOnly.trailingData;
      if (trailing !== undefined && trailing.length > 0) this.heldInput.push(trailing);
    }
  }

  // -- input --------------------------------------------------------------------------------

  /**
   * Buffer received bytes, or note EOF (`null`). Returns the error to raise for bytes after EOF.
   * Nothing is parsed here: `step` parses, as the state reads input.
   */
  receive(data: Uint8Array | null): LocalProtocolError | null {
    if (this.eofReceived) {
      if (data === null) return null;
      return new LocalProtocolError("receiveData() got bytes after the transport was closed (receiveData(null))");
    }
    if (data === null) {
      this.eofReceived = true;
    } else if (data.length > 0) {
      const decoder = this.decoder;
      if (decoder === null) this.heldInput.push(data);
      // After a protocol failure the peer's bytes are discarded (RFC 6455 §7.1.7): a failed
      // decoder rethrows its ParseFailed on receiveBytes, which must not escape from here.
      else if (decoder.failure === null) decoder.receiveBytes(data);
    }
    return null;
  }

  /** True once `receive(null)` was called. */
  get eof(): boolean {
    return this.eofReceived;
  }

  /**
   * Bytes of a frame or data message that has started arriving and is not complete are held
   * (what a message timeout bounds). False before OPEN and once reading is over.
   */
  get messageInProgress(): boolean {
    const decoder = this.decoder;
    return decoder !== null && decoder.failure === null && (decoder.messageInProgress || decoder.bufferedAmount > 0);
  }

  /** The last frame read stopped at the work quantum with input left: read again. */
  get workPending(): boolean {
    return this.decoder !== null && this.decoder.workPending;
  }

  /** Drop every byte held for frames not yet read (the connection is over for its driver). */
  releaseInput(): void {
    this.heldInput.length = 0;
    this.decoder?.dispose();
  }

  /**
   * Produce the next event the buffered input yields in `phase`, or null when it yields none
   * now. A lifecycle change is left for `takeTransition()`, a handshake error for
   * `takeHandshakeError()`; both may come with or without an event.
   */
  step(phase: InputPhase): Event | null {
    switch (phase) {
      case "open":
      case "localClosing":
        return this.readFrame();
      case "awaitingRequest":
        return this.readRequest();
      case "awaitingResponse":
        return this.readResponse();
      case "receivingBody":
        return this.readRejectionBody();
      case "buffering":
        return this.eofWhileConnecting();
      case "remoteClosing":
      case "failed":
        // RFC 6455 §7.1.7 / wsproto: after the peer's close or a failure, its bytes are dropped.
        this.discardInput();
        if (this.eofReceived && this.transition === null) this.transition = EOF;
        return null;
    }
  }

  takeTransition(): PeerEvent | null {
    const transition = this.transition;
    this.transition = null;
    return transition;
  }

  takeHandshakeError(): RemoteProtocolError | null {
    const error = this.handshakeError;
    this.handshakeError = null;
    return error;
  }

  /** Server: the request was parsed by another HTTP stack (node:http's 'upgrade'). */
  initiateUpgrade(headers: Headers, target: string): Request | null {
    try {
      return this.requestReceived(handshake.validateUpgradeRequestHeaders(headers, target));
    } catch (error) {
      this.failHandshake(error);
      return null;
    }
  }

  /** Server: a valid upgrade request; the statechart moves to "request received". */
  private requestReceived(request: Request): Request {
    this.receivedRequest = request;
    this.transition = { type: "peer.request", request };
    return request;
  }

  private readFrame(): Event | null {
    const decoder = this.decoder;
    if (decoder === null) return null;
    let frame: Frame | null;
    try {
      frame = decoder.nextFrame();
    } catch (error) {
      if (!(error instanceof ParseFailed)) throw error;
      // RFC 6455 §7.1.7: fail the connection; the caller answers with `response()`.
      this.transition = { type: "peer.protocolError", code: error.code, reason: error.message };
      return new CloseConnection({ code: error.code, reason: error.message });
    }
    if (frame === null) {
      if (!this.eofReceived || decoder.workPending) return null;
      // RFC 6455 §7.1.5: the transport closed without a close frame: code 1006.
      this.transition = EOF;
      return new CloseConnection({ code: CloseReason.ABNORMAL_CLOSURE });
    }
    if (this.frameTrace !== null) traceReceived(this.frameTrace, frame);
    switch (frame.opcode) {
      case Opcode.TEXT:
        return new TextMessage({
          data: frame.payload as string,
          frameFinished: frame.frameFinished,
          messageFinished: frame.messageFinished,
        });
      case Opcode.BINARY:
        return new BytesMessage({
          data: frame.payload as Uint8Array,
          frameFinished: frame.frameFinished,
          messageFinished: frame.messageFinished,
        });
      case Opcode.PING:
        return new Ping({ payload: frame.payload as Uint8Array });
      case Opcode.PONG:
        return new Pong({ payload: frame.payload as Uint8Array });
      case Opcode.CLOSE: {
        const close = frame.payload as ClosePayload;
        this.transition = { type: "peer.close", code: close.code, reason: close.reason };
        return new CloseConnection({ code: close.code, reason: close.reason });
      }
      default:
        return null;
    }
  }

  private readRequest(): Event | null {
    try {
      const head = this.readHead("request");
      if (head === null) return this.eofWhileConnecting();
      return this.requestReceived(handshake.validateUpgradeRequest(head as handshake.HttpRequestHead));
    } catch (error) {
      this.failHandshake(error);
      return null;
    }
  }

  private readResponse(): Event | null {
    const offer = this.clientOffer;
    if (offer === null) throw new Error("internal: response read before the request was sent");
    try {
      // The parser skips 1xx informational responses (RFC 9110 §15.2; README, "Differences from wsproto", row 5).
      const head = this.readHead("response");
      if (head === null) return this.eofWhileConnecting();
      const outcome = handshake.validateUpgradeResponse(head as handshake.HttpResponseHead, offer);
      if (outcome.kind === "accept") {
        this.extensions = outcome.event.extensions;
        this.subprotocol = outcome.event.subprotocol;
        if (this.extensions.length > 0) this.extensionResponses = extensionElements(head.headers);
        this.transition = { type: "peer.accepted", accept: outcome.event };
        return outcome.event;
      }
      this.bodyReader = outcome.body;
      this.transition = { type: "peer.rejected", reject: outcome.event };
      return outcome.event;
    } catch (error) {
      this.failHandshake(error);
      return null;
    }
  }

  private readRejectionBody(): Event | null {
    const reader = this.bodyReader;
    // No reader: a restored connection, whose body in flight was not persisted; only EOF ends it.
    if (reader === null) return this.eofWhileConnecting();
    if (reader.finished) return null;
    try {
      let chunk: RejectData | null = null;
      while (chunk === null && this.heldInput.length > 0) chunk = reader.push(this.heldInput.shift()!);
      // EOF ends a body delimited by EOF; it cuts short any other (RemoteProtocolError).
      if (chunk === null && this.eofReceived) chunk = reader.push(null);
      if (chunk === null) return null;
      if (chunk.bodyFinished) {
        this.transition = { type: "peer.rejectBodyFinished" };
        this.heldInput.length = 0; // bytes after the body: the server closes after a rejection
      }
      return chunk;
    } catch (error) {
      this.failHandshake(error);
      return null;
    }
  }

  /** Feed held bytes to the head parser; the bytes after a complete head stay held. */
  private readHead(kind: "request" | "response"): handshake.HttpHead | null {
    if (this.headParser === null) {
      this.headParser = new handshake.HttpHeadParser<handshake.HeadKind>({ kind, maxHeadSize: this.maxHandshakeHeadSize });
    }
    const parser = this.headParser;
    while (this.heldInput.length > 0) {
      const head = parser.push(this.heldInput.shift()!);
      if (head !== null) {
        const rest = parser.takeRest();
        if (rest.length > 0) this.heldInput.unshift(rest);
        this.headParser = null;
        return head;
      }
    }
    return null;
  }

  /** EOF before the handshake finished closes with 1006 (README, "Differences from wsproto", row 3). */
  private eofWhileConnecting(): Event | null {
    if (!this.eofReceived || this.transition !== null) return null;
    this.transition = EOF;
    return new CloseConnection({ code: CloseReason.ABNORMAL_CLOSURE });
  }

  private failHandshake(error: unknown): void {
    if (!(error instanceof RemoteProtocolError)) throw error;
    this.handshakeError = error;
    this.transition = { type: "peer.handshakeFailed", message: error.message };
  }

  private discardInput(): void {
    this.heldInput.length = 0;
    this.decoder?.dispose();
    this.decoder = null;
  }

  /** Entering OPEN: the frame layer starts with what the handshake negotiated. */
  openFrames(): void {
    const enabled = this.extensions;
    this.decoder = new FrameDecoder({
      client: this.client,
      maxMessageSize: this.maxMessageSize,
      maxFragments: this.maxFragments,
      extensions: enabled,
      assembleMessages: this.assembleMessages,
      memory: this.memoryBudget?.account(),
      workQuantum: this.workQuantum,
    });
    this.encoder = new FrameEncoder({ client: this.client, extensions: enabled, randomMaskKey: this.entropy?.maskKey });
    for (const chunk of this.heldInput) this.decoder.receiveBytes(chunk);
    this.heldInput.length = 0;
  }

  // -- persistence --------------------------------------------------------------------------

  /** The lifecycle-relevant state as plain data (see `PersistedProtocolCore`). */
  describe(): PersistedProtocolCore {
    const offer = this.clientOffer;
    const request = this.receivedRequest;
    return {
      version: 1,
      role: this.role,
      maxMessageSize: Number.isFinite(this.maxMessageSize) ? this.maxMessageSize : null,
      maxFragments: Number.isFinite(this.maxFragments) ? this.maxFragments : null,
      maxHandshakeHeadSize: this.maxHandshakeHeadSize ?? null,
      assembleMessages: this.assembleMessages,
      framesOnly: this.framesOnly,
      readInputInActor: !this.readsOutsideActor,
      eofReceived: this.eofReceived,
      offer:
        offer === null
          ? null
          : { nonce: offer.nonce, subprotocols: offer.subprotocols.slice(), extensions: offer.extensions.map((extension) => extension.name) },
      request:
        request === null
          ? null
          : {
              host: request.host,
              target: request.target,
              subprotocols: request.subprotocols.slice(),
              // A received request's offers are strings (the header's elements).
              extensions: request.extensions.filter((offered): offered is string => typeof offered === "string"),
              extraHeaders: request.extraHeaders.map(([name, value]) => [name, value] as [string, string]),
            },
      subprotocol: this.subprotocol,
      extensions: this.extensions.map((extension, index) => ({
        name: extension.name,
        response: this.client && !this.framesOnly ? (this.extensionResponses[index] ?? null) : null,
      })),
      frames: { decoding: this.decoder !== null, encoding: this.encoder !== null },
    };
  }

  /**
   * JSON.stringify of a snapshot (an inspector serializing the context, say) sees the
   * description, not the codec's buffers and compression state.
   */
  toJSON(): PersistedProtocolCore {
    return this.describe();
  }

  /**
   * A new core from a description: same role, limits and handshake outcome, a fresh frame layer
   * (at a frame boundary, with fresh compression contexts), no buffered input. `options` gives
   * what a description cannot hold: the frame trace, the extension factory, and how the actor is
   * driven (`readInputInActor`, else as persisted). Throws an Error when the description is not
   * one, or when its extensions cannot be rebuilt.
   */
  static restore(persisted: PersistedProtocolCore, options: ProtocolCoreOptions = {}): ProtocolCore {
    if (typeof persisted !== "object" || persisted === null || persisted.version !== 1) {
      throw new Error("not a persisted wsmachine connection (expected context.core from getPersistedSnapshot(), version 1)");
    }
    const core = new ProtocolCore(persisted.role, {
      maxMessageSize: persisted.maxMessageSize ?? Infinity,
      maxFragments: persisted.maxFragments ?? Infinity,
      maxHandshakeHeadSize: persisted.maxHandshakeHeadSize ?? undefined,
      assembleMessages: persisted.assembleMessages === true,
      frameTrace: options.frameTrace,
      readInputInActor: options.readInputInActor ?? persisted.readInputInActor,
      framesOnly: persisted.framesOnly ? {} : undefined,
    });
    core.eofReceived = persisted.eofReceived;
    core.subprotocol = persisted.subprotocol;
    const fresh = (name: string): Extension => {
      if (options.restoreExtension === undefined) {
        throw new Error(
          `the persisted connection uses the extension ${name}: restore it with input.restoreExtension, e.g. (name) => new PerMessageDeflate(options)`,
        );
      }
      const extension = options.restoreExtension(name);
      if (extension?.name !== name) throw new Error(`restoreExtension("${name}") must return an extension named ${name}`);
      return extension;
    };
    if (persisted.request !== null) {
      core.receivedRequest = new Request({ ...persisted.request, extensions: persisted.request.extensions.slice() });
    }
    if (persisted.offer !== null) {
      // The request bytes are long gone; the response is checked against the nonce and the offers.
      core.clientOffer = { bytes: EMPTY, nonce: persisted.offer.nonce, subprotocols: persisted.offer.subprotocols, extensions: persisted.offer.extensions.map(fresh) };
    }
    core.extensions = persisted.extensions.map((described) => {
      const extension = fresh(described.name);
      if (described.response !== null) {
        extension.finalize(described.response);
      } else if (core.receivedRequest !== null) {
        // As buildAcceptResponse: the offers naming it, in order, until one is accepted.
        const accepted = core.receivedRequest.extensions.some(
          (offer) => typeof offer === "string" && extensionName(offer) === described.name && isAccepted(extension.accept(offer)),
        );
        if (!accepted) throw new Error(`restoreExtension("${described.name}") declined the offers the original accepted: configure it as the original`);
      }
      if (!extension.enabled()) throw new Error(`restoreExtension("${described.name}") must return a negotiated extension for a frames-only connection`);
      return extension;
    });
    core.extensionResponses = persisted.extensions.map((described) => described.response ?? "");
    if (persisted.frames.decoding || persisted.frames.encoding) {
      core.openFrames();
      if (!persisted.frames.decoding) core.decoder = null;
      if (!persisted.frames.encoding) core.encoder = null;
    }
    return core;
  }

  // -- output -------------------------------------------------------------------------------

  /**
   * Encode `event` without committing it: the statechart's `canSend` guard calls this, and the
   * transition is taken only if it succeeds; `takePrepared` then commits. Returns the
   * LocalProtocolError that refuses the event, or null.
   */
  prepareSend(event: Event): LocalProtocolError | null {
    if (this.prepared !== null && this.prepared.event === event) return this.prepared.error;
    let bytes: Uint8Array | null = null;
    let commit: (() => void) | null = null;
    let error: LocalProtocolError | null = null;
    try {
      if (event instanceof Request) {
        const built = handshake.buildUpgradeRequest(event, this.entropy?.nonce());
        bytes = built.bytes;
        commit = () => {
          this.clientOffer = built;
        };
      } else if (event instanceof AcceptConnection) {
        const request = this.receivedRequest;
        if (request === null) throw new LocalProtocolError("AcceptConnection needs a received Request");
        const built = handshake.buildAcceptResponse(request, event);
        bytes = built.bytes;
        commit = () => {
          this.extensions = built.extensions;
          this.subprotocol = event.subprotocol ?? null;
        };
      } else if (event instanceof RejectConnection) {
        const built = handshake.buildRejectResponse(event);
        bytes = built.bytes;
        commit = () => {
          this.bodyWriter = built.body;
        };
      } else if (event instanceof RejectData) {
        const writer = this.bodyWriter;
        if (writer === null) throw new LocalProtocolError("RejectData needs a RejectConnection with hasBody: true first");
        bytes = writer.write(event);
      } else if (event instanceof CloseConnection) {
        bytes = this.encodeClose(event);
      } else {
        throw new LocalProtocolError(`${describe(event)} is not an event that can be sent`);
      }
    } catch (caught) {
      if (!(caught instanceof LocalProtocolError)) throw caught;
      error = caught;
    }
    this.prepared = { event, bytes, error, commit };
    return error;
  }

  /** Commit the prepared send and return its bytes. */
  takePrepared(): Uint8Array {
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
    if (!(event instanceof Event)) return new LocalProtocolError(`ws.send takes a wsmachine Event, not ${describe(event)}`);
    if (event instanceof Request && state !== "CLOSED") {
      return new LocalProtocolError(
        this.role === ConnectionType.CLIENT
          ? `Request was already sent (the connection is ${state}): a client sends one opening handshake (RFC 6455 §4.1)`
          : "Request cannot be sent by a server: the client sends it, the server answers with AcceptConnection or RejectConnection (RFC 6455 §4.2.2)",
      );
    }
    if (state === "REMOTE_CLOSING") {
      return new LocalProtocolError(
        `${describe(event)} cannot be sent in state REMOTE_CLOSING: the peer has closed, and all that may follow is ` +
          "the close reply, `event.response()` of the CloseConnection received (RFC 6455 §5.5.1)",
      );
    }
    return new LocalProtocolError(`${describe(event)} cannot be sent by a ${this.role} in state ${state}`);
  }

  /**
   * Encode a data or ping/pong frame (OPEN). `WSConnection` calls this directly: a message
   * costs no `actor.send`. Throws LocalProtocolError (and changes nothing) for an invalid one.
   */
  encodeData(event: Event): Uint8Array {
    const bytes = this.encodeDataFrame(event);
    if (this.frameTrace !== null) traceSent(this.frameTrace, bytes);
    return bytes;
  }

  /**
   * As `encodeData`, as chunks for writev: a message's header, then (server) its payload array
   * uncopied. Pings and pongs come as one chunk.
   */
  encodeDataParts(event: Event): Uint8Array[] {
    const encoder = this.encoder;
    let parts: Uint8Array[] | null = null;
    if (encoder !== null) {
      if (event instanceof BytesMessage) parts = encoder.binaryParts(event.data, event.messageFinished);
      else if (event instanceof TextMessage) parts = encoder.textParts(event.data, event.messageFinished);
      else if (event instanceof Message) {
        const data: unknown = event.data;
        if (typeof data === "string") parts = encoder.textParts(data, event.messageFinished);
        else if (data instanceof Uint8Array) parts = encoder.binaryParts(data, event.messageFinished);
      }
    }
    if (parts === null) return [this.encodeData(event)];
    if (this.frameTrace !== null) traceSent(this.frameTrace, parts[0]!);
    return parts;
  }

  private encodeDataFrame(event: Event): Uint8Array {
    const encoder = this.encoder;
    if (encoder === null) throw new LocalProtocolError(`${describe(event)} cannot be sent before the connection is open`);
    if (event instanceof TextMessage) return encoder.text(event.data, event.messageFinished);
    if (event instanceof BytesMessage) return encoder.binary(event.data, event.messageFinished);
    if (event instanceof Ping) return encoder.ping(event.payload);
    if (event instanceof Pong) return encoder.pong(event.payload);
    if (event instanceof Message) {
      const data: unknown = event.data;
      if (typeof data === "string") return encoder.text(data, event.messageFinished);
      if (data instanceof Uint8Array) return encoder.binary(data, event.messageFinished);
    }
    throw new LocalProtocolError(`${describe(event)} is not a message, ping or pong`);
  }

  private encodeClose(event: CloseConnection): Uint8Array {
    const bytes = this.encodeCloseFrame(event);
    if (this.frameTrace !== null) traceSent(this.frameTrace, bytes);
    return bytes;
  }

  private encodeCloseFrame(event: CloseConnection): Uint8Array {
    const encoder = this.encoder;
    if (encoder === null) throw new LocalProtocolError("CloseConnection cannot be sent before the connection is open");
    // wsproto: 1005 ("no status received") means a close frame without a body (RFC 6455 §7.1.5),
    // which is what `response()` to an empty close frame must send.
    if (event.code === CloseReason.NO_STATUS_RCVD) {
      if (event.reason !== null && event.reason !== "") {
        throw new LocalProtocolError("a close frame without a status code cannot carry a reason (RFC 6455 §5.5.1)");
      }
      return encoder.close();
    }
    return encoder.close(event.code, event.reason ?? "");
  }
}

const EOF: PeerEvent = Object.freeze({ type: "transport.eof" });

/** The elements of a response's Sec-WebSocket-Extensions headers (already validated by the handshake). */
function extensionElements(headers: Headers): string[] {
  const elements: string[] = [];
  for (const [name, value] of headers) if (name === "sec-websocket-extensions") appendList(value, elements);
  return elements;
}

function isAccepted(parameters: string | boolean | null): boolean {
  return parameters !== null && parameters !== false;
}

function traceReceived(trace: FrameTrace, frame: Frame): void {
  const payload = frame.payload;
  if (frame.opcode === Opcode.CLOSE) {
    const close = payload as ClosePayload;
    trace({ direction: "in", opcode: frame.opcode, length: close.code === CloseReason.NO_STATUS_RCVD ? 0 : 2 + close.reason.length, frameFinished: true, closeCode: close.code });
    return;
  }
  trace({ direction: "in", opcode: frame.opcode, length: (payload as Uint8Array | string).length, frameFinished: frame.frameFinished });
}

/** Read the header of a frame just encoded (RFC 6455 §5.2): one frame per `encode` call. */
function traceSent(trace: FrameTrace, bytes: Uint8Array): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const opcode = bytes[0]! & 0x0f;
  const masked = (bytes[1]! & 0x80) !== 0;
  let length = bytes[1]! & 0x7f;
  let offset = 2;
  if (length === 126) {
    length = view.getUint16(2);
    offset = 4;
  } else if (length === 127) {
    length = Number(view.getBigUint64(2));
    offset = 10;
  }
  let closeCode: number | undefined;
  if (opcode === Opcode.CLOSE) {
    closeCode = CloseReason.NO_STATUS_RCVD;
    if (length >= 2) {
      const start = offset + (masked ? 4 : 0);
      const mask = masked ? view.getUint16(offset) : 0;
      closeCode = view.getUint16(start) ^ mask;
    }
  }
  const record: FrameTraceRecord = { direction: "out", opcode, length, frameFinished: (bytes[0]! & 0x80) !== 0 };
  trace(closeCode === undefined ? record : { ...record, closeCode });
}

function describe(event: unknown): string {
  return event instanceof Event ? event.type : describeValue(event);
}

