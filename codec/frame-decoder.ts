/**
 * Incremental frame decoder (RFC 6455 §5): bytes in, `Frame`s out, no I/O.
 *
 * Public interface:
 *
 * ```ts
 * interface FrameDecoderOptions {
 *   client: boolean;         // we are the client: frames must arrive unmasked (a server requires masked ones)
 *   maxMessageSize: number;  // bytes per message after extensions, counted across fragments (1009 past it)
 *   maxFragments?: number;   // frames per data message, empty ones included (1008 past it); default no limit
 *   extensions?: readonly Extension[]; // the enabled extensions, in negotiation order
 *   masker?: Masker;         // default: getMasker() when the decoder is created
 *   assembleMessages?: boolean; // one Frame per data message, its payload joined (default false)
 *   memory?: MemoryAccount;  // reserve what is kept for incomplete messages (1013 when refused)
 *   workQuantum?: number;    // most payload bytes one nextFrame() call works through (default Infinity)
 *   textAsBytes?: boolean;   // text payloads as validated UTF-8 bytes, not strings (default false)
 * }
 * class FrameDecoder {
 *   constructor(options: FrameDecoderOptions);
 *   receiveBytes(chunk: Uint8Array): void;  // keeps a reference (small ones: a copy); MAY UNMASK THE CHUNK IN PLACE
 *   nextFrame(): Frame | null;              // null: more bytes needed; throws ParseFailed
 *   get bufferedAmount(): number;           // received bytes not yet parsed
 *   get failure(): ParseFailed | null;      // set once a ParseFailed was thrown
 *   get messageInProgress(): boolean;       // a data message has started and not been handed out
 *   takeUnconsumed(): Uint8Array[];         // hands over (and forgets) the unparsed bytes
 *   get workPending(): boolean;             // the last nextFrame() stopped at workQuantum: call again
 *   dispose(): void;                        // forget everything held, give its memory back
 * }
 * ```
 *
 * Frames: see `Frame` in ./frame.ts. Data frames are delivered as their bytes arrive, one
 * `Frame` per piece (`frameFinished` false until the frame's last byte), so a large frame never
 * needs a buffer of its announced size; payload that lies within one received chunk is a
 * subarray of that chunk, unmasked in place (the caller hands the chunk over: it must not reuse
 * it). A frame whose remaining payload has fully arrived but spans chunks is copied into one
 * piece when it is small (≤ 16 KiB), so short messages split by the transport still come whole.
 * A chunk of up to 1 KiB that arrives while earlier bytes wait is copied into a block of the
 * decoder's (SMALL_CHUNK_MAX in ./received-bytes.ts), so its payload is a view of that block,
 * not of the chunk.
 * Control frames always come whole. No piece is empty except that of an empty frame, or the
 * last piece of a frame whose text ends inside a code point continued in the next fragment.
 *
 * With `assembleMessages`, a data message comes as one Frame (`frameFinished` and
 * `messageFinished` true) holding the whole message: a frame's payload is kept as received
 * until all of it has arrived and is then unmasked while it is copied into one array (one pass,
 * as ws does), and a fragmented message's frames are joined at its last frame. Extensions still
 * see each piece as it arrives (their output is what is bounded by maxMessageSize; a frame's
 * compressed payload is not), and their output is joined. What is held is bounded by
 * maxMessageSize and maxFragments.
 *
 * After a ParseFailed (the peer broke the protocol: fail the connection with its `code`), the
 * decoder is dead: every later call to `nextFrame` or `receiveBytes` throws that same error. An
 * error thrown by an extension hook that is not a ParseFailed is reported the same way, as a
 * ParseFailed with code 1011 whose `cause` is the original error.
 */
import { parseClosePayload } from "./close.js";
import { type ClosePayload, type Frame, Opcode, ParseFailed } from "./frame.js";
import { isStandardMasker } from "./mask.js";
import { decodeShortAsciiMasked, Utf8StreamDecoder } from "./utf8.js";
import { Utf8Validator } from "./utf8-validation.js";
import type { MemoryAccount } from "./memory-budget.js";
import type { FrameDecoderOptions } from "./frame-decoder-options.js";
import { MessageAssembly } from "./message-assembly.js";
import { FrameHeaderReader, READ_HEADER as HEADER_STATE } from "./frame-header.js";
import { extensionFailure } from "./inbound-extensions.js";

export type { FrameDecoderOptions } from "./frame-decoder-options.js";

/*
 * What each array the decoder keeps is charged beyond its bytes: the typed array and its
 * backing store cost about 200 bytes of objects whatever the length (see SMALL_CHUNK_MAX in
 * ./received-bytes.ts), so a message of endless tiny fragments is paid for in what it really costs.
 */
export const HELD_ARRAY_OVERHEAD = 200;

/** Smallest piece handed to extensions under a work quantum. */
const EXTENSION_PIECE_MIN = 256;

const EMPTY = new Uint8Array(0);

/** A decoded frame or piece of one; a class so every frame has the same hidden shape. */
class DecodedFrame implements Frame {
  /*
   * One frame that lives as long as the module, so that the hidden classes (maps) V8 builds
   * frames with do too. Optimized code holds the maps it creates objects with only weakly; a
   * frame's map is reached from a live frame (the map's back pointers keep its transition
   * chain), and between messages there often is none. A full GC then collects the maps and
   * throws away the optimized code of `new DecodedFrame` and of readDataPayload, which
   * inlines it ("weak objects" in --trace-deopt), and the next frames run unoptimized until
   * V8 recompiles. Measured on a 16 MiB message in 64 KiB chunks with a GC before each: the
   * decoder's work per message went from ~0.17 ms to ~0.06 ms with this frame kept.
   */
  private static readonly retained = new DecodedFrame(Opcode.BINARY, EMPTY, true, true);

  constructor(
    readonly opcode: Opcode,
    readonly payload: Uint8Array | string | ClosePayload,
    readonly frameFinished: boolean,
    readonly messageFinished: boolean,
  ) {}
}

// Opcodes copied into module constants: the hot path reads them per frame, and some loaders
// (tsx, bundlers' interop) turn every `Opcode.X` into a getter call through the module namespace.
const TEXT: Opcode = Opcode.TEXT;
const BINARY: Opcode = Opcode.BINARY;
const CLOSE: Opcode = Opcode.CLOSE;

// Copied for the same reason. (Calling an imported function on the hot path costs the same way:
// with the header checks a function of ./frame-header.ts called from here, W1 ran ~20% slower
// under tsx; FrameHeaderReader calls them within its own module.)
const READ_HEADER: number = HEADER_STATE;

/*
 * Frames whose remaining payload has arrived but spans chunks are gathered into one piece up to
 * this size: a copy of a few KiB costs less than the extra event and lets short messages split
 * by the transport arrive whole. Larger ones are handed out piece by piece without copying.
 */
const COALESCE_MAX = 16 * 1024;

/** Text frames up to this size take the short-ASCII path (utf8.ts: ASCII_FAST_PATH_MAX). */
const SHORT_TEXT_MAX = 16;

export class FrameDecoder extends FrameHeaderReader {
  /** The masker is a standard XOR one: short text may be unmasked inline (readDataPayload). */
  private readonly inlineUnmask: boolean;
  private readonly assemble: boolean;
  /** Assembling without extensions: a frame's payload is taken only once all of it is here. */
  private readonly wholeFrames: boolean;

  private failed: ParseFailed | null = null;

  /** Created with the first text message: an idle connection holds no TextDecoder. */
  private utf8: Utf8StreamDecoder | null = null;
  /** textAsBytes: text is validated (utf8Bytes) and handed out as bytes, never decoded. */
  private readonly textAsBytes: boolean;
  private utf8Bytes: Utf8Validator | null = null;
  /** Assembling: the message's data so far (binary pieces, or the text decoded so far). */
  private readonly assembly = new MessageAssembly();

  // Bounded work (see FrameDecoderOptions.workQuantum and .memory).
  private readonly memory: MemoryAccount | null;
  private readonly workQuantum: number;
  /** Most received bytes handed to extensions at once (Infinity without a work quantum). */
  private readonly extensionPieceMax: number;
  private workDone = 0;
  private stoppedForWork = false;

  constructor(options: FrameDecoderOptions) {
    super(options);
    this.inlineUnmask = isStandardMasker(this.masker);
    this.assemble = options.assembleMessages === true;
    this.textAsBytes = options.textAsBytes === true;
    this.wholeFrames = this.assemble && this.extensions === null;
    this.memory = options.memory ?? null;
    this.workQuantum = options.workQuantum ?? Infinity;
    this.extensionPieceMax =
      this.extensions === null || !Number.isFinite(this.workQuantum)
        ? Infinity
        : Math.max(EXTENSION_PIECE_MIN, Math.floor(this.workQuantum / 1024));
  }

  /** The last `nextFrame()` stopped at the work quantum with work left: call it again. */
  get workPending(): boolean {
    return this.stoppedForWork;
  }

  /** Forget every byte held (the connection is over) and give its memory back. */
  dispose(): void {
    this.input.clear();
    this.assembly.clear();
    this.stoppedForWork = false;
    // No message is under way any more (what messageInProgress reports).
    this.messageOpcode = 0;
    this.state = READ_HEADER;
    this.memory?.releaseAll();
  }

  /** Received bytes not yet turned into frames. */
  get bufferedAmount(): number {
    return this.input.buffered;
  }

  /** The ParseFailed the decoder died of, or null while it is alive. */
  get failure(): ParseFailed | null {
    return this.failed;
  }

  /** A data message has started (its first frame's header was read) and has not finished. */
  get messageInProgress(): boolean {
    return this.messageOpcode !== 0 || this.assembly.joining;
  }

  /**
   * Queues received bytes. The decoder keeps `chunk` without copying it and unmasks payload in
   * place, so the chunk belongs to the decoder from now on.
   */
  receiveBytes(chunk: Uint8Array): void {
    if (this.failed !== null) throw this.failed;
    if (chunk.length === 0) return;
    if (this.memory !== null && !this.memory.reserve(chunk.length + HELD_ARRAY_OVERHEAD)) {
      // Refused before it is kept; nextFrame() reports the failure.
      this.failWith(this.overBudget());
      return;
    }
    this.input.append(chunk);
  }

  private overBudget(): ParseFailed {
    return new ParseFailed("the memory budget for incomplete messages is used up (memoryBudget, a server's maxBufferedBytes): try again later", 1013);
  }

  /** Die of `failure`: drop everything held (see nextFrame). */
  private failWith(failure: ParseFailed): void {
    this.failed = failure;
    this.dispose();
  }

  /**
   * Bring the memory reservation in line with what is held now: received bytes, the message
   * assembled so far, and HELD_ARRAY_OVERHEAD per kept array. Received bytes were reserved as
   * they came; what grows here is joined or inflated payload, whose growth extensions were
   * already told to stay within (applyExtensions).
   */
  private settleMemory(extra = 0): void {
    const memory = this.memory!;
    const input = this.input;
    const held = extra + input.buffered + this.assembly.held(HELD_ARRAY_OVERHEAD) + input.entries * HELD_ARRAY_OVERHEAD;
    const reserved = memory.held;
    if (held < reserved) memory.release(reserved - held);
    else if (held > reserved && !memory.reserve(held - reserved)) throw this.overBudget();
  }

  /**
   * Returns the received bytes not yet parsed and forgets them, e.g. to hand them to another
   * protocol after the closing handshake. If a frame is partly read, they start inside it.
   */
  takeUnconsumed(): Uint8Array[] {
    const rest = this.input.takeUnconsumed();
    // What is held now is at most what was reserved: this only gives memory back.
    if (this.memory !== null) this.settleMemory();
    return rest;
  }

  /** The next frame or piece of one, or null until more bytes arrive. */
  nextFrame(): Frame | null {
    if (this.failed !== null) throw this.failed;
    this.stoppedForWork = false;
    this.workDone = 0;
    try {
      let frame: Frame | null | undefined;
      for (;;) {
        if (this.assembly.joining) {
          frame = this.continueJoin();
          break;
        }
        if (this.state === READ_HEADER && !this.readHeader()) {
          frame = null;
          break;
        }
        frame = this.opcode >= 0x8 ? this.readControlPayload() : this.readDataPayload();
        // A data piece that decoded to nothing (the bytes of an unfinished code point), or one
        // kept for an assembled message, is not worth an event; read on if more bytes are
        // buffered, unless this call has done its quantum of work.
        if (frame !== undefined) break;
        if (this.workDone >= this.workQuantum && this.input.buffered > 0) {
          this.stoppedForWork = true;
          frame = null;
          break;
        }
      }
      if (this.memory !== null) this.settleMemory();
      return frame;
    } catch (error) {
      this.failWith(error instanceof ParseFailed ? error : extensionFailure(error));
      throw this.failed;
    }
  }

  private readControlPayload(): Frame | null {
    const length = this.payloadRemaining;
    if (this.input.buffered < length) return null;
    const payload = this.takeWhole(length);
    this.state = READ_HEADER;
    if (this.opcode === CLOSE) {
      return new DecodedFrame(CLOSE, parseClosePayload(payload), true, true);
    }
    return new DecodedFrame(this.opcode as Opcode, payload, true, true);
  }

  /** The next piece of a data frame: a Frame, null when no bytes are buffered, undefined to read on. */
  private readDataPayload(): Frame | null | undefined {
    const frameRemaining = this.payloadRemaining;
    // Under a work quantum, extensions get the payload in bounded pieces (see workQuantum).
    const remaining = frameRemaining <= this.extensionPieceMax ? frameRemaining : this.extensionPieceMax;
    let piece: Uint8Array;
    if (remaining === 0) {
      piece = EMPTY;
    } else {
      const input = this.input;
      if (input.buffered === 0) return null;
      const chunk = input.chunks[input.head]!;
      const start = input.offset;
      const contiguous = chunk.length - start;
      if (contiguous >= remaining) {
        // Chat-sized text: a whole short final frame of ASCII within one chunk becomes its string
        // straight from the (masked) bytes — no subarray, no unmasking pass, no TextDecoder.
        if (remaining <= SHORT_TEXT_MAX && this.messageOpcode === TEXT && this.fin && this.payloadRead === 0 && this.extensions === null && this.inlineUnmask && !this.textAsBytes && (this.utf8 === null || this.utf8.pendingBytes === 0)) {
          const text = decodeShortAsciiMasked(chunk, start, remaining, this.masked ? this.maskKeyWord : 0);
          if (text !== null) {
            input.skip(remaining);
            this.payloadRead = remaining;
            this.payloadRemaining = 0;
            this.state = READ_HEADER;
            this.messageOpcode = 0;
            return new DecodedFrame(TEXT, this.assembly.text.length === 0 ? text : this.assembly.takeText(text), true, true);
          }
        }
        piece = this.takeContiguous(chunk, start, remaining);
      } else if (input.buffered >= remaining && (remaining <= COALESCE_MAX || this.holdsWholeFrames())) {
        piece = this.takeWhole(remaining);
      } else if (this.holdsWholeFrames()) {
        // Held as received until the frame is complete: bounded, since without extensions the
        // message's announced size was checked against maxMessageSize in its header.
        return null;
      } else {
        piece = this.takeContiguous(chunk, start, contiguous);
      }
    }
    return this.deliverData(piece);
  }

  /** Hands out (or, assembling, keeps) `piece`, the data frame's payload just taken. */
  private deliverData(piece: Uint8Array): Frame | undefined | null {
    const frameFinished = this.payloadRemaining === 0;
    const messageFinished = frameFinished && this.fin;
    const data = this.extensions === null ? piece : this.applyExtensions(piece, frameFinished);
    const messageOpcode = this.messageOpcode as Opcode;
    if (frameFinished) {
      this.state = READ_HEADER;
      if (messageFinished) this.messageOpcode = 0;
    }
    if (messageOpcode === TEXT) return this.deliverText(piece, data, frameFinished, messageFinished);
    if (this.assemble) return this.assembleBytes(piece, data, messageFinished, BINARY);
    if (data.length === 0 && !frameFinished) return undefined;
    return new DecodedFrame(BINARY, data, frameFinished, messageFinished);
  }

  /** deliverData for text: `data` (from `piece`) decoded, and handed out or kept. */
  private deliverText(piece: Uint8Array, data: Uint8Array, frameFinished: boolean, messageFinished: boolean): Frame | undefined | null {
    if (this.textAsBytes) return this.deliverTextBytes(piece, data, frameFinished, messageFinished);
    const text = (this.utf8 ??= new Utf8StreamDecoder()).decode(data, messageFinished);
    if (this.assemble) {
      if (!messageFinished) {
        // Reserved before it is kept: many fragments may complete within one call.
        if (this.memory !== null) this.settleMemory(text.length + HELD_ARRAY_OVERHEAD);
        this.assembly.addText(text);
        this.workDone += piece.length + data.length;
        return undefined;
      }
      return new DecodedFrame(TEXT, this.assembly.takeText(text), true, true);
    }
    if (text.length === 0 && !frameFinished) {
      this.workDone += piece.length;
      return undefined;
    }
    return new DecodedFrame(TEXT, text, frameFinished, messageFinished);
  }

  /** deliverText with textAsBytes: `data` validated as it arrives, then handed out or kept as bytes. */
  private deliverTextBytes(piece: Uint8Array, data: Uint8Array, frameFinished: boolean, messageFinished: boolean): Frame | undefined | null {
    (this.utf8Bytes ??= new Utf8Validator()).checkPiece(data, messageFinished);
    if (this.assemble) return this.assembleBytes(piece, data, messageFinished, TEXT);
    if (data.length === 0 && !frameFinished) return undefined;
    return new DecodedFrame(TEXT, data, frameFinished, messageFinished);
  }

  /**
   * Assembling binary without extensions: a frame's payload is held until all of it is here
   * (one unmasking copy). Text is not held: its pieces are decoded as they arrive, so invalid
   * UTF-8 fails the connection as soon as its bytes arrive (RFC 6455 §8.1; Autobahn 6.4.3–4),
   * and the decoded strings are joined at the end.
   */
  private holdsWholeFrames(): boolean {
    return this.wholeFrames && this.messageOpcode !== TEXT;
  }

  /**
   * Assembling a message of bytes (binary, or text as bytes): keep `data` (from `piece`) while
   * the message is unfinished; at its last piece join the pieces into one array, a quantum at
   * a time when the join is larger than the work quantum (MessageAssembly).
   */
  private assembleBytes(piece: Uint8Array, data: Uint8Array, messageFinished: boolean, opcode: Opcode): Frame | null | undefined {
    if (messageFinished) return this.assembledFrame(this.assembly.finishBytes(data, this.workQuantum, opcode));
    if (data.length > 0) {
      // Reserved before it is kept: many fragments may complete within one call.
      if (this.memory !== null) this.settleMemory(data.length + HELD_ARRAY_OVERHEAD);
      this.assembly.addBytes(data);
    }
    this.workDone += piece.length + data.length;
    return undefined;
  }

  /** Copy the next quantum of a join; the message's Frame once whole, else null (workPending). */
  private continueJoin(): Frame | null {
    return this.assembledFrame(this.assembly.continueJoin(this.workQuantum));
  }

  private assembledFrame(bytes: Uint8Array | null): Frame | null {
    if (bytes === null) {
      this.stoppedForWork = true;
      return null;
    }
    return new DecodedFrame(this.assembly.opcode as Opcode, bytes, true, true);
  }

  /**
   * Runs a data piece through the extensions' inbound hooks and counts it against the limit.
   * When an assembled message's output would outgrow the memory budget before maxMessageSize,
   * the hooks are held to what the budget has left, and passing it fails with 1013.
   */
  private applyExtensions(piece: Uint8Array, frameFinished: boolean): Uint8Array {
    const extensions = this.extensions!;
    // The text message's decoder: a failure is reported after the invalid UTF-8 before it.
    const utf8 = this.messageOpcode !== TEXT ? null : this.textAsBytes ? (this.utf8Bytes ??= new Utf8Validator()) : (this.utf8 ??= new Utf8StreamDecoder());
    const sizeBudget = this.maxMessageSize - this.messageSize;
    const room = this.assemble && this.memory !== null ? this.memory.available - HELD_ARRAY_OVERHEAD : Infinity;
    let data: Uint8Array;
    if (room >= sizeBudget) {
      data = extensions.apply(piece, frameFinished, this.fin, sizeBudget, utf8);
    } else {
      try {
        data = extensions.apply(piece, frameFinished, this.fin, room, utf8);
      } catch (error) {
        if (error instanceof ParseFailed && error.code === 1009) throw this.overBudget();
        throw error;
      }
    }
    this.messageSize += data.length;
    return data;
  }
}
