/**
 * What the connection statechart's actions do on the wire: the codec state of one connection
 * (handshake parser, frame decoder and encoder, buffered input) and the steps that turn input
 * into events and events into bytes. Pure code: no xstate, no I/O.
 *
 * The core never decides the lifecycle. `step(phase)` is told how the current state reads input
 * and returns one record: the event it produced, the lifecycle `PeerEvent` the statechart must
 * take (a request, a close frame, a failure, EOF) and the peer's handshake error. What is done
 * with that record is written once, in the statechart's layer (machines/connection-input.ts),
 * for both drivers: the statechart's own actions, when the machine runs as an actor
 * (`ws.receive`), and `WSConnection`, which steps the core in `events()` so that a data frame
 * costs no `actor.send`, and sends the statechart only the `PeerEvent`s.
 *
 * Its parts: ./handshake-reader.ts reads the opening handshake, ./lifecycle-sends.ts checks and
 * writes the lifecycle sends, ./frame-writer.ts encodes what an open connection sends,
 * ./persistence.ts turns the core into plain data and back; ./state.ts holds what they share.
 */
import { CloseReason, ConnectionType, type ConnectionState } from "../constants.js";
import { LocalProtocolError } from "../errors.js";
import { BytesMessage, CloseConnection, Message, Ping, Pong, TextBytesMessage, TextMessage, type Event, type Headers } from "../events.js";
import { Opcode, ParseFailed, type ClosePayload, type Frame } from "../frame.js";
import { FrameDecoder } from "../frame-decoder.js";
import { FrameEncoder } from "../frame-encoder.js";
import { dataRefusal, encodeData, encodeDataParts } from "./frame-writer.js";
import { HandshakeReader } from "./handshake-reader.js";
import { describeCore, restoreInto } from "./persistence.js";
import { LifecycleSends } from "./lifecycle-sends.js";
import { coreSettings, type CoreSettings } from "./core-settings.js";
import { EOF, HandshakeRecord, HeldInput, StepOutcome, type StepResult } from "./state.js";
import { traceReceived } from "./trace.js";
import type { Entropy, FrameTrace, InputPhase, PersistedProtocolCore, ProtocolCoreOptions } from "./types.js";

export type { StepResult } from "./state.js";
export type {
  Entropy,
  FrameTrace,
  FrameTraceRecord,
  InputPhase,
  PeerEvent,
  PersistedExtension,
  PersistedProtocolCore,
  ProtocolCoreOptions,
} from "./types.js";

export class ProtocolCore {
  // The codec's state is held in private (#) fields: XState's getPersistedSnapshot copies every
  // enumerable object reachable from the context (and a compressor's state holds cycles), so
  // what it sees of a core is nothing of its own, and `toJSON` gives the description.
  readonly #record = new HandshakeRecord();
  /** Role, limits and options: one frozen object shared with the cores made alike (./core-settings.ts). */
  readonly #settings: CoreSettings;

  readonly #input = new HeldInput();
  readonly #outcome = new StepOutcome();
  // The handshake's parts exist while needed: an idle open connection carries neither (M1).
  #handshakeReader: HandshakeReader | null = null;
  #lifecycleSends: LifecycleSends | null = null;
  #decoder: FrameDecoder | null = null;
  /**
   * Frames are read (OPEN on): the decoder is made with the first bytes after the handshake, so
   * that an idle open connection holds none (bench:e2e R1: a fifth of an idle connection's heap).
   */
  #decoding = false;
  /** Frames are written (OPEN on): the encoder too is made when first needed (bench:e2e R1). */
  #encoding = false;
  #encoder: FrameEncoder | null = null;

  constructor(role: ConnectionType, options: ProtocolCoreOptions = {}) {
    this.#settings = coreSettings(role, options);
    if (options.framesOnly !== undefined) {
      this.#record.extensions = options.framesOnly.extensions ?? [];
      const trailing = options.framesOnly.trailingData;
      if (trailing !== undefined && trailing.length > 0) this.#input.held.push(trailing);
    }
  }

  get role(): ConnectionType { return this.#settings.role; }
  get client(): boolean { return this.#settings.client; }
  get framesOnly(): boolean { return this.#settings.framesOnly; }
  get readsOutsideActor(): boolean { return this.#settings.readsOutsideActor; }
  get maxMessageSize(): number { return this.#settings.maxMessageSize; }
  get maxFragments(): number { return this.#settings.maxFragments; }
  get maxHandshakeHeadSize(): number | undefined { return this.#settings.maxHandshakeHeadSize; }
  get assembleMessages(): boolean { return this.#settings.assembleMessages; }
  get textAs(): "string" | "bytes" { return this.#settings.textAs; }
  private get frameTrace(): FrameTrace | null { return this.#settings.frameTrace; }

  /** What the opening handshake sent, received and settled (read by persistence). */
  get record(): HandshakeRecord {
    return this.#record;
  }

  /** Reads the opening handshake; made on first use, dropped once the frame layer starts. */
  private get handshake(): HandshakeReader {
    return (this.#handshakeReader ??= new HandshakeReader(this.#input, this.#record, this.#outcome, this.maxHandshakeHeadSize));
  }

  /** Lifecycle sends (handshake, rejection, close); made on first use. */
  private get sends(): LifecycleSends {
    return (this.#lifecycleSends ??= new LifecycleSends(this.role, this.#record, this.#settings.entropy, () => ({ encoder: this.encoder, trace: this.frameTrace })));
  }

  // -- input --------------------------------------------------------------------------------

  /**
   * Buffer received bytes, or note EOF (`null`). Returns the error to raise for bytes after EOF.
   * Nothing is parsed here: `step` parses, as the state reads input.
   */
  receive(data: Uint8Array | null): LocalProtocolError | null {
    const input = this.#input;
    if (input.eof) {
      if (data === null) return null;
      return new LocalProtocolError("receiveData() got bytes after the transport was closed (receiveData(null))");
    }
    if (data === null) {
      input.eof = true;
    } else if (data.length > 0) {
      const decoder = this.#decoder ?? (this.#decoding ? this.makeDecoder() : null);
      if (decoder === null) input.held.push(data);
      // After a protocol failure the peer's bytes are discarded (RFC 6455 §7.1.7): a failed
      // decoder rethrows its ParseFailed on receiveBytes, which must not escape from here.
      else if (decoder.failure === null) decoder.receiveBytes(data);
    }
    return null;
  }

  /** True once `receive(null)` was called. */
  get eof(): boolean {
    return this.#input.eof;
  }

  /**
   * Bytes of a frame or data message that has started arriving and is not complete are held
   * (what a message timeout bounds). False before OPEN and once reading is over.
   */
  get messageInProgress(): boolean {
    const decoder = this.#decoder;
    return decoder !== null && decoder.failure === null && (decoder.messageInProgress || decoder.bufferedAmount > 0);
  }

  /** The last frame read stopped at the work quantum with input left: read again. */
  get workPending(): boolean {
    return this.#decoder !== null && this.#decoder.workPending;
  }

  /** Drop every byte held for frames not yet read (the connection is over for its driver). */
  releaseInput(): void {
    this.#input.held.length = 0;
    this.#decoder?.dispose();
  }

  /**
   * Read the next thing the buffered input yields in `phase`: the event (or null when it yields
   * none now), the lifecycle change the statechart must take and the peer's handshake error, as
   * one record — the core's own, valid until the next step (no allocation per frame).
   */
  step(phase: InputPhase): StepResult {
    const outcome = this.#outcome;
    outcome.clear();
    outcome.event = this.read(phase);
    return outcome;
  }

  private read(phase: InputPhase): Event | null {
    switch (phase) {
      case "open":
      case "localClosing":
        return this.readFrame();
      case "awaitingRequest":
        return this.handshake.readRequest();
      case "awaitingResponse":
        return this.handshake.readResponse();
      case "receivingBody":
        return this.handshake.readRejectionBody();
      case "buffering":
        return this.handshake.eofWhileConnecting();
      case "remoteClosing":
      case "failed":
        // RFC 6455 §7.1.7 / wsproto: after the peer's close or a failure, its bytes are dropped.
        this.discardInput();
        if (this.#input.eof) this.#outcome.transition = EOF;
        return null;
    }
  }

  /**
   * Server: the request was parsed by another HTTP stack (node:http's 'upgrade'); validated as
   * if it had been read (the same record as `step`'s).
   */
  initiateUpgrade(headers: Headers, target: string): StepResult {
    const outcome = this.#outcome;
    outcome.clear();
    outcome.event = this.handshake.initiateUpgrade(headers, target);
    return outcome;
  }

  private readFrame(): Event | null {
    // No byte since the handshake: nothing to read but EOF (which the decoder's path reports).
    const decoder = this.#decoder ?? (this.#decoding && this.#input.eof ? this.makeDecoder() : null);
    if (decoder === null) return null;
    let frame: Frame | null;
    try {
      frame = decoder.nextFrame();
    } catch (error) {
      if (!(error instanceof ParseFailed)) throw error;
      // RFC 6455 §7.1.7: fail the connection; the caller answers with `response()`.
      this.#outcome.transition = { type: "peer.protocolError", code: error.code, reason: error.message };
      return new CloseConnection({ code: error.code, reason: error.message });
    }
    if (frame === null) {
      if (!this.#input.eof || decoder.workPending) return null;
      // RFC 6455 §7.1.5: the transport closed without a close frame: code 1006.
      this.#outcome.transition = EOF;
      return new CloseConnection({ code: CloseReason.ABNORMAL_CLOSURE });
    }
    if (this.frameTrace !== null) traceReceived(this.frameTrace, frame);
    return frameEvent(frame, this.#outcome);
  }

  private discardInput(): void {
    this.#input.held.length = 0;
    this.#decoder?.dispose();
    this.#decoder = null;
    this.#decoding = false;
  }

  /** The frame encoder, made on first use from OPEN on; null before OPEN. */
  private get encoder(): FrameEncoder | null {
    if (this.#encoder !== null || !this.#encoding) return this.#encoder;
    return (this.#encoder = new FrameEncoder({ client: this.client, extensions: this.#record.extensions, randomMaskKey: this.#settings.entropy?.maskKey }));
  }

  /** Entering OPEN: the frame layer starts with what the handshake negotiated. */
  openFrames(): void {
    this.#decoding = true;
    this.#encoding = true;
    const held = this.#input.held;
    if (held.length > 0) {
      const decoder = this.makeDecoder();
      for (const chunk of held) decoder.receiveBytes(chunk);
      held.length = 0;
    }
    // The opening handshake is over: its reader (and any parser it held) can go, and so can its
    // sends (the accept was written before OPEN's entry; a close makes a new one).
    this.#handshakeReader = null;
    this.#lifecycleSends = null;
  }

  private makeDecoder(): FrameDecoder {
    const enabled = this.#record.extensions;
    return (this.#decoder = new FrameDecoder({
      client: this.client,
      maxMessageSize: this.maxMessageSize,
      maxFragments: this.maxFragments,
      extensions: enabled,
      assembleMessages: this.assembleMessages,
      textAsBytes: this.textAs === "bytes",
      memory: this.#settings.memoryBudget?.account(),
      workQuantum: this.#settings.workQuantum,
    }));
  }

  // -- persistence (./persistence.ts) -------------------------------------------------------

  /** Which halves of the frame layer exist. */
  framesState(): { decoding: boolean; encoding: boolean } {
    return { decoding: this.#decoding, encoding: this.#encoding };
  }

  /** Restoring: rebuild the halves of the frame layer that existed, at a frame boundary. */
  restoreFrames(frames: { readonly decoding: boolean; readonly encoding: boolean }): void {
    if (!frames.decoding && !frames.encoding) return;
    this.openFrames();
    if (!frames.decoding) {
      this.#decoder = null;
      this.#decoding = false;
    }
    if (!frames.encoding) this.#encoding = false;
  }

  /** The lifecycle-relevant state as plain data (see `PersistedProtocolCore`). */
  describe(): PersistedProtocolCore {
    return describeCore(this);
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
      throw new Error("not a persisted wsmachine connection (expected context.core from persistConnection(), version 1)");
    }
    const core = new ProtocolCore(persisted.role, {
      maxMessageSize: persisted.maxMessageSize ?? Infinity,
      maxFragments: persisted.maxFragments ?? Infinity,
      maxHandshakeHeadSize: persisted.maxHandshakeHeadSize ?? undefined,
      assembleMessages: persisted.assembleMessages === true,
      textAs: persisted.textAs === "bytes" ? "bytes" : "string",
      frameTrace: options.frameTrace,
      readInputInActor: options.readInputInActor ?? persisted.readInputInActor,
      framesOnly: persisted.framesOnly ? {} : undefined,
    });
    restoreInto(core, persisted, options);
    return core;
  }

  // -- output (./lifecycle-sends.ts, ./frame-writer.ts) --------------------------------------

  /**
   * Why `event` cannot be sent now, or null — the statechart's guards' question, answered
   * without encoding or changing anything (encoding a data frame advances the compressor's
   * history, RFC 7692 §7.2.3; accepting negotiates the extensions), so `snapshot.can()` may ask
   * it as often as it likes. Whether the state sends this kind of event at all is the chart's.
   */
  sendRefusal(event: Event): LocalProtocolError | null {
    return isData(event) ? dataRefusal(this.encoder, event) : this.sends.refusal(event);
  }

  /**
   * Encode a lifecycle send (Request, AcceptConnection, RejectConnection, RejectData, our
   * CloseConnection) that `sendRefusal` accepted, and record what it settles (the handshake's
   * offer or outcome, the rejection's body writer).
   */
  writeSend(event: Event): Uint8Array {
    return this.sends.write(event);
  }

  /** The LocalProtocolError for `event` in a state `state` that does not send its kind at all. */
  stateRefusal(event: Event, state: ConnectionState): LocalProtocolError {
    return this.sends.stateRefusal(event, state);
  }

  /** As `sendRefusal`, for a message, ping or pong (the `sends` guard's question). */
  dataRefusal(event: Event): LocalProtocolError | null {
    return dataRefusal(this.encoder, event);
  }

  /**
   * Encode a data or ping/pong frame (OPEN). `WSConnection` calls this directly: a message
   * costs no `actor.send`. Throws LocalProtocolError (and changes nothing) for an invalid one.
   */
  encodeData(event: Event): Uint8Array {
    return encodeData(this.encoder, this.frameTrace, event);
  }

  /**
   * As `encodeData`, as chunks for writev: a message's header, then (server) its payload array
   * uncopied. Pings and pongs come as one chunk.
   */
  encodeDataParts(event: Event): Uint8Array[] {
    return encodeDataParts(this.encoder, this.frameTrace, event);
  }
}

function isData(event: Event): boolean {
  return event instanceof Message || event instanceof Ping || event instanceof Pong;
}

/** The event for a decoded frame; a close frame also sets the lifecycle change. */
function frameEvent(frame: Frame, outcome: StepOutcome): Event | null {
  switch (frame.opcode) {
    case Opcode.TEXT:
      if (typeof frame.payload !== "string") {
        return new TextBytesMessage({ data: frame.payload as Uint8Array, frameFinished: frame.frameFinished, messageFinished: frame.messageFinished });
      }
      return new TextMessage({ data: frame.payload, frameFinished: frame.frameFinished, messageFinished: frame.messageFinished });
    case Opcode.BINARY:
      return new BytesMessage({ data: frame.payload as Uint8Array, frameFinished: frame.frameFinished, messageFinished: frame.messageFinished });
    case Opcode.PING:
      return new Ping({ payload: frame.payload as Uint8Array });
    case Opcode.PONG:
      return new Pong({ payload: frame.payload as Uint8Array });
    case Opcode.CLOSE: {
      const close = frame.payload as ClosePayload;
      outcome.transition = { type: "peer.close", code: close.code, reason: close.reason };
      return new CloseConnection({ code: close.code, reason: close.reason });
    }
    default:
      return null;
  }
}
