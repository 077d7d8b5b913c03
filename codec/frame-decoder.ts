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
 * decoder's (SMALL_CHUNK_MAX), so its payload is a view of that block, not of the chunk.
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
import type { Extension } from "./extension.js";
import { parseClosePayload } from "./close.js";
import { type ClosePayload, type Frame, Opcode, ParseFailed, type RsvBits } from "./frame.js";
import { allocateFilled, concatBytes } from "./bytes.js";
import { getMasker, isStandardMasker, type Masker } from "./mask.js";
import { decodeShortAsciiMasked, Utf8StreamDecoder } from "./utf8.js";
import type { MemoryAccount } from "./memory-budget.js";

export interface FrameDecoderOptions {
  /** We are the client: the server must not mask; a server requires masked frames (RFC 6455 §5.1). */
  client: boolean;
  /** Most bytes a message may have after extensions (decompressed), counted across fragments. */
  maxMessageSize: number;
  /**
   * Most frames a data message may have, its first frame and empty continuations included
   * (1008 past it). Default: no limit. Pieces of a message are handed out as they arrive, so the
   * decoder holds nothing per frame; an application that reassembles holds one piece per frame,
   * which is what this bounds (cf. ws 8.21 `maxFragments`, GHSA-96hv-2xvq-fx4p).
   */
  maxFragments?: number;
  /** The enabled extensions: only their RSV bits are allowed, and their hooks see every frame. */
  extensions?: readonly Extension[];
  /** How to unmask payloads; defaults to the process-wide masker (see ./mask.ts). */
  masker?: Masker;
  /**
   * Deliver every data message whole, as one Frame, instead of piece by piece as its bytes
   * arrive (see the module comment). Default false.
   */
  assembleMessages?: boolean;
  /**
   * The connection's share of a memory budget (see ./memory-budget.ts). Before the decoder keeps
   * bytes for an incomplete frame or message — received bytes, joined or inflated payload, plus
   * HELD_ARRAY_OVERHEAD per kept array — it reserves them; when the budget refuses, the
   * connection fails with 1013 (Try Again Later) and the bytes are not kept.
   */
  memory?: MemoryAccount;
  /**
   * Most payload bytes (received, plus what extensions produce from them) one `nextFrame()`
   * call works through before it returns; it then returns null with `workPending` true, so
   * that a driver sharing a thread can serve other connections first. With extensions, their
   * inbound hooks are handed at most workQuantum / 1024 received bytes at a time (DEFLATE
   * inflates at most ~1032:1), so one hook call stays within about one quantum as well.
   * Default Infinity: a call works until it has a frame or needs more bytes.
   */
  workQuantum?: number;
}

/*
 * What each array the decoder keeps is charged beyond its bytes: the typed array and its
 * backing store cost about 200 bytes of objects whatever the length (see SMALL_CHUNK_MAX), so a
 * message of endless tiny fragments is paid for in what it really costs.
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
const CONTINUATION: Opcode = Opcode.CONTINUATION;
const TEXT: Opcode = Opcode.TEXT;
const BINARY: Opcode = Opcode.BINARY;
const CLOSE: Opcode = Opcode.CLOSE;

const READ_HEADER = 0;
const READ_PAYLOAD = 1;

// RSV bits as a 3-bit number: RSV1 = 4, RSV2 = 2, RSV3 = 1 (their order in the first byte).
const RSV1 = 4;
const RSV2 = 2;
const RSV3 = 1;

/** The eight RsvBits values, so extensions can be asked about a header without allocating. */
const RSV_BITS: readonly RsvBits[] = Array.from({ length: 8 }, (_, bits) =>
  Object.freeze({ rsv1: (bits & RSV1) !== 0, rsv2: (bits & RSV2) !== 0, rsv3: (bits & RSV3) !== 0 }),
);

function rsvBitsToNumber(rsv: RsvBits): number {
  return (rsv.rsv1 ? RSV1 : 0) | (rsv.rsv2 ? RSV2 : 0) | (rsv.rsv3 ? RSV3 : 0);
}

function firstRsvName(bits: number): string {
  return (bits & RSV1) !== 0 ? "RSV1" : (bits & RSV2) !== 0 ? "RSV2" : "RSV3";
}

/*
 * Frames whose remaining payload has arrived but spans chunks are gathered into one piece up to
 * this size: a copy of a few KiB costs less than the extra event and lets short messages split
 * by the transport arrive whole. Larger ones are handed out piece by piece without copying.
 */
const COALESCE_MAX = 16 * 1024;

/*
 * A received chunk this small that arrives while earlier bytes still wait is copied into a
 * block the decoder owns instead of being kept as it is: each kept array costs ~200 bytes of
 * objects whatever its length, so a peer that trickles a frame a byte at a time would otherwise
 * make a connection hold ~200 times what it sent (a 256 KiB frame, assembled, 57 MB). Blocks
 * start at BLOCK_MIN and double up to BLOCK_MAX while the trickle lasts; what is held is then
 * within about twice the bytes waiting, plus one block. Larger chunks are kept uncopied: their
 * overhead is at most ~20% of their size.
 */
const SMALL_CHUNK_MAX = 1024;
const BLOCK_MIN = 256;
const BLOCK_MAX = 16 * 1024;

/** Text frames up to this size take the short-ASCII path (utf8.ts: ASCII_FAST_PATH_MAX). */
const SHORT_TEXT_MAX = 16;

/*
 * Scratch arrays shared by every decoder (decoding is synchronous and nothing keeps them across
 * calls), so that an idle connection does not carry them: a frame header split across chunks is
 * gathered in HEADER_SCRATCH, and the masking key handed to the masker is written to KEY_SCRATCH.
 */
const HEADER_SCRATCH = new Uint8Array(14);
const KEY_SCRATCH = new Uint8Array(4);

/** The most a 64-bit length may be for the payload to be counted exactly: 2^53 − 1. */
const MAX_SAFE_HIGH_WORD = 0x1fffff;

export class FrameDecoder {
  private readonly client: boolean;
  private readonly maxMessageSize: number;
  private readonly maxFragments: number;
  /** null when no extension is enabled: the fast path, and messages counted from headers. */
  private readonly extensions: readonly Extension[] | null;
  /** RSV bits some enabled extension may claim. */
  private readonly extensionRsv: number;
  private readonly masker: Masker;
  /** The masker is a standard XOR one: short text may be unmasked inline (readDataPayload). */
  private readonly inlineUnmask: boolean;
  private readonly assemble: boolean;
  /** Assembling without extensions: a frame's payload is taken only once all of it is here. */
  private readonly wholeFrames: boolean;

  // Received, unparsed bytes: chunks[head] from `offset`, then the later chunks.
  private chunks: Uint8Array[] = [];
  private head = 0;
  private offset = 0;
  private buffered = 0;
  /** The block small chunks are copied into (see SMALL_CHUNK_MAX), and the chunks entry viewing it. */
  private block: Uint8Array | null = null;
  private blockView: Uint8Array | null = null;
  private blockUsed = 0;

  private state = READ_HEADER;
  private failed: ParseFailed | null = null;

  // The frame being read.
  private fin = false;
  private opcode = 0;
  private masked = false;
  private maskKeyIsZero = true;
  /** The frame's masking key, key byte i in bits 8i..8i+7 (a number: no array per decoder). */
  private maskKeyWord = 0;
  private payloadRemaining = 0;
  private payloadRead = 0;

  // The data message being read: its opcode (0 when none), its size and its frames so far.
  private messageOpcode = 0;
  private messageSize = 0;
  private messageFrames = 0;
  /** Created with the first text message: an idle connection holds no TextDecoder. */
  private utf8: Utf8StreamDecoder | null = null;
  /** Assembling: the message's data so far (binary pieces, or the text decoded so far). */
  private assembledPieces: Uint8Array[] | null = null;
  private assembledBytes = 0;
  private assembledText = "";

  // Bounded work (see FrameDecoderOptions.workQuantum and .memory).
  private readonly memory: MemoryAccount | null;
  private readonly workQuantum: number;
  /** Most received bytes handed to extensions at once (Infinity without a work quantum). */
  private readonly extensionPieceMax: number;
  private workDone = 0;
  private stoppedForWork = false;
  /** A large assembled message being joined a quantum at a time (finishAssembledBytes). */
  private joining: { target: Uint8Array; pieces: Uint8Array[]; index: number; filled: number } | null = null;

  constructor(options: FrameDecoderOptions) {
    this.client = options.client;
    this.maxMessageSize = options.maxMessageSize;
    this.maxFragments = options.maxFragments ?? Infinity;
    const extensions = options.extensions ?? [];
    this.extensions = extensions.length === 0 ? null : extensions;
    this.extensionRsv = extensions.reduce((bits, extension) => bits | rsvBitsToNumber(extension.rsvBits), 0);
    this.masker = options.masker ?? getMasker();
    this.inlineUnmask = isStandardMasker(this.masker);
    this.assemble = options.assembleMessages === true;
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
    this.chunks = [];
    this.head = 0;
    this.offset = 0;
    this.buffered = 0;
    this.releaseBlock();
    this.assembledPieces = null;
    this.assembledBytes = 0;
    this.assembledText = "";
    this.joining = null;
    this.stoppedForWork = false;
    // No message is under way any more (what messageInProgress reports).
    this.messageOpcode = 0;
    this.state = READ_HEADER;
    this.memory?.releaseAll();
  }

  /** Received bytes not yet turned into frames. */
  get bufferedAmount(): number {
    return this.buffered;
  }

  /** The ParseFailed the decoder died of, or null while it is alive. */
  get failure(): ParseFailed | null {
    return this.failed;
  }

  /** A data message has started (its first frame's header was read) and has not finished. */
  get messageInProgress(): boolean {
    return this.messageOpcode !== 0 || this.joining !== null;
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
    if (chunk.length <= SMALL_CHUNK_MAX && this.buffered > 0) this.appendSmall(chunk);
    else this.chunks.push(chunk);
    this.buffered += chunk.length;
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
    const entries = this.chunks.length - this.head;
    const pieces = this.assembledPieces === null ? 0 : this.assembledPieces.length;
    const joined = this.joining === null ? 0 : this.joining.target.length + HELD_ARRAY_OVERHEAD;
    const held = extra + this.buffered + this.assembledBytes + joined + this.assembledText.length + (entries + pieces) * HELD_ARRAY_OVERHEAD;
    const reserved = memory.held;
    if (held < reserved) memory.release(reserved - held);
    else if (held > reserved && !memory.reserve(held - reserved)) throw this.overBudget();
  }

  /** Queues a small chunk by copying it into the decoder's block (see SMALL_CHUNK_MAX). */
  private appendSmall(chunk: Uint8Array): void {
    const chunks = this.chunks;
    const last = chunks.length - 1;
    let block = this.block;
    if (block !== null && chunks[last] === this.blockView && block.length - this.blockUsed >= chunk.length) {
      // The block's view is the last chunk: extend it (it starts at 0, so `offset` into it holds).
      block.set(chunk, this.blockUsed);
      this.blockUsed += chunk.length;
      const view = block.subarray(0, this.blockUsed);
      chunks[last] = view;
      this.blockView = view;
      return;
    }
    const capacity = block === null ? BLOCK_MIN : Math.min(BLOCK_MAX, block.length * 2);
    block = new Uint8Array(Math.max(capacity, chunk.length));
    block.set(chunk, 0);
    const view = block.subarray(0, chunk.length);
    chunks.push(view);
    this.block = block;
    this.blockView = view;
    this.blockUsed = chunk.length;
  }

  /** Nothing is buffered: forget the block, so that the next trickle starts small again. */
  private releaseBlock(): void {
    this.block = null;
    this.blockView = null;
  }

  /**
   * Returns the received bytes not yet parsed and forgets them, e.g. to hand them to another
   * protocol after the closing handshake. If a frame is partly read, they start inside it.
   */
  takeUnconsumed(): Uint8Array[] {
    const rest: Uint8Array[] = [];
    for (let index = this.head; index < this.chunks.length; index++) {
      const chunk = this.chunks[index]!;
      rest.push(index === this.head && this.offset > 0 ? chunk.subarray(this.offset) : chunk);
    }
    this.chunks = [];
    this.head = 0;
    this.offset = 0;
    this.buffered = 0;
    this.releaseBlock();
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
        if (this.joining !== null) {
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
        if (this.workDone >= this.workQuantum && this.buffered > 0) {
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

  /** Reads and checks a frame header; false if it has not fully arrived. */
  private readHeader(): boolean {
    if (this.buffered < 2) return false;
    const chunk = this.chunks[this.head]!;
    let source = chunk;
    let base = this.offset;
    const contiguous = chunk.length - base;
    let first: number;
    let second: number;
    if (contiguous >= 2) {
      first = chunk[base]!;
      second = chunk[base + 1]!;
    } else {
      first = chunk[base]!;
      second = this.chunks[this.head + 1]![0]!;
    }

    // Checks that need only the first two bytes run as soon as they arrive, so a peer that
    // sends garbage is failed without waiting for a length or key that may never come.
    const fin = (first & 0x80) !== 0;
    const rsv = (first >>> 4) & 7;
    const opcode = first & 0x0f;
    const masked = (second & 0x80) !== 0;
    let length = second & 0x7f;
    this.checkHeaderStart(fin, rsv, opcode, masked, length);

    const lengthBytes = length === 126 ? 2 : length === 127 ? 8 : 0;
    const headerLength = 2 + lengthBytes + (masked ? 4 : 0);
    if (this.buffered < headerLength) return false;
    if (contiguous < headerLength) {
      this.copyBuffered(HEADER_SCRATCH, headerLength);
      source = HEADER_SCRATCH;
      base = 0;
    }

    if (length === 126) {
      length = (source[base + 2]! << 8) | source[base + 3]!;
      if (length < 126) {
        throw new ParseFailed(`payload length ${length} sent in the 16-bit form; up to 125 the 7-bit form is required (RFC 6455 §5.2)`);
      }
    } else if (length === 127) {
      const high = ((source[base + 2]! << 24) | (source[base + 3]! << 16) | (source[base + 4]! << 8) | source[base + 5]!) >>> 0;
      const low = ((source[base + 6]! << 24) | (source[base + 7]! << 16) | (source[base + 8]! << 8) | source[base + 9]!) >>> 0;
      if (high >= 0x80000000) {
        throw new ParseFailed("64-bit payload length with the most significant bit set (RFC 6455 §5.2)");
      }
      if (high === 0 && low < 0x10000) {
        throw new ParseFailed(`payload length ${low} sent in the 64-bit form; up to 65535 a shorter form is required (RFC 6455 §5.2)`);
      }
      if (high > MAX_SAFE_HIGH_WORD) {
        throw new ParseFailed("frame payload length over 2^53 − 1 bytes: larger than any message can be (RFC 6455 §10.4)", 1009);
      }
      length = high * 0x100000000 + low;
    }
    if (masked) {
      const at = base + 2 + lengthBytes;
      const word = source[at]! | (source[at + 1]! << 8) | (source[at + 2]! << 16) | (source[at + 3]! << 24);
      this.maskKeyWord = word;
      this.maskKeyIsZero = word === 0;
    }
    if (source === chunk) this.skip(headerLength);

    if (this.extensions !== null) this.askExtensions(opcode, rsv, length);

    if (opcode < 0x8) {
      if (opcode !== CONTINUATION) {
        this.messageOpcode = opcode;
        this.messageSize = 0;
        this.messageFrames = 0;
      }
      if (++this.messageFrames > this.maxFragments) {
        throw new ParseFailed(`message of more than maxFragments (${this.maxFragments}) frames`, 1008);
      }
      if (this.extensions === null) {
        // Nothing transforms the payload, so the announced length is what will be delivered:
        // refuse the message now rather than after receiving what we would throw away.
        this.messageSize += length;
        if (this.messageSize > this.maxMessageSize) throw this.tooBig();
      }
    }

    this.fin = fin;
    this.opcode = opcode;
    this.masked = masked;
    this.payloadRemaining = length;
    this.payloadRead = 0;
    this.state = READ_PAYLOAD;
    return true;
  }

  private checkHeaderStart(fin: boolean, rsv: number, opcode: number, masked: boolean, length: number): void {
    if ((opcode >= 0x3 && opcode <= 0x7) || opcode >= 0xb) {
      const kind = opcode >= 0xb ? "control" : "non-control";
      throw new ParseFailed(`reserved ${kind} opcode 0x${opcode.toString(16)} (RFC 6455 §5.2)`);
    }
    const unclaimable = rsv & ~this.extensionRsv;
    if (unclaimable !== 0) {
      throw new ParseFailed(`${firstRsvName(unclaimable)} set but no negotiated extension claims it (RFC 6455 §5.2)`);
    }
    if (opcode >= 0x8) {
      if (!fin) throw new ParseFailed("fragmented control frame: control frames must have FIN set (RFC 6455 §5.5)");
      if (length > 125) {
        throw new ParseFailed("control frame payload longer than 125 bytes (RFC 6455 §5.5)");
      }
    } else if (opcode === CONTINUATION) {
      if (this.messageOpcode === 0) {
        throw new ParseFailed("continuation frame without a fragmented message to continue (RFC 6455 §5.4)");
      }
    } else if (this.messageOpcode !== 0) {
      throw new ParseFailed("new data message started while a fragmented message is unfinished (RFC 6455 §5.4)");
    }
    if (masked === this.client) {
      throw new ParseFailed(
        this.client
          ? "masked frame from the server: a server must not mask frames (RFC 6455 §5.1)"
          : "unmasked frame from the client: a client must mask every frame (RFC 6455 §5.1)",
      );
    }
  }

  private askExtensions(opcode: number, rsv: number, length: number): void {
    let unclaimed = rsv;
    const rsvBits = RSV_BITS[rsv]!;
    for (const extension of this.extensions!) {
      const claimed = rsvBitsToNumber(extension.frameInboundHeader(opcode as Opcode, rsvBits, length));
      // An extension can only account for bits it was negotiated to use.
      unclaimed &= ~(claimed & rsvBitsToNumber(extension.rsvBits));
    }
    if (unclaimed !== 0) {
      throw new ParseFailed(`${firstRsvName(unclaimed)} set but no negotiated extension claims it (RFC 6455 §5.2)`);
    }
  }

  private readControlPayload(): Frame | null {
    const length = this.payloadRemaining;
    if (this.buffered < length) return null;
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
      if (this.buffered === 0) return null;
      const chunk = this.chunks[this.head]!;
      const start = this.offset;
      const contiguous = chunk.length - start;
      if (contiguous >= remaining) {
        // Chat-sized text: a whole short final frame of ASCII within one chunk becomes its string
        // straight from the (masked) bytes — no subarray, no unmasking pass, no TextDecoder.
        if (remaining <= SHORT_TEXT_MAX && this.messageOpcode === TEXT && this.fin && this.payloadRead === 0 && this.extensions === null && this.inlineUnmask && (this.utf8 === null || this.utf8.pendingBytes === 0)) {
          const text = decodeShortAsciiMasked(chunk, start, remaining, this.masked ? this.maskKeyWord : 0);
          if (text !== null) {
            this.skip(remaining);
            this.payloadRead = remaining;
            this.payloadRemaining = 0;
            this.state = READ_HEADER;
            this.messageOpcode = 0;
            return new DecodedFrame(TEXT, this.assembledText.length === 0 ? text : this.takeAssembledText(text), true, true);
          }
        }
        piece = this.takeContiguous(chunk, start, remaining);
      } else if (this.buffered >= remaining && (remaining <= COALESCE_MAX || this.holdsWholeFrames())) {
        piece = this.takeWhole(remaining);
      } else if (this.holdsWholeFrames()) {
        // Held as received until the frame is complete: bounded, since without extensions the
        // message's announced size was checked against maxMessageSize in its header.
        return null;
      } else {
        piece = this.takeContiguous(chunk, start, contiguous);
      }
    }
    const frameFinished = this.payloadRemaining === 0;
    const messageFinished = frameFinished && this.fin;
    const data = this.extensions === null ? piece : this.applyExtensions(piece, frameFinished);
    const messageOpcode = this.messageOpcode as Opcode;
    if (frameFinished) {
      this.state = READ_HEADER;
      if (messageFinished) this.messageOpcode = 0;
    }
    if (messageOpcode === TEXT) {
      const text = (this.utf8 ??= new Utf8StreamDecoder()).decode(data, messageFinished);
      if (this.assemble) {
        if (!messageFinished) {
          // Reserved before it is kept: many fragments may complete within one call.
          if (this.memory !== null) this.settleMemory(text.length + HELD_ARRAY_OVERHEAD);
          this.assembledText += text;
          this.workDone += piece.length + data.length;
          return undefined;
        }
        return new DecodedFrame(TEXT, this.takeAssembledText(text), true, true);
      }
      if (text.length === 0 && !frameFinished) {
        this.workDone += piece.length;
        return undefined;
      }
      return new DecodedFrame(TEXT, text, frameFinished, messageFinished);
    }
    if (this.assemble) {
      if (!messageFinished) {
        if (data.length > 0) {
          if (this.memory !== null) this.settleMemory(data.length + HELD_ARRAY_OVERHEAD);
          (this.assembledPieces ??= []).push(data);
          this.assembledBytes += data.length;
        }
        this.workDone += piece.length + data.length;
        return undefined;
      }
      return this.finishAssembledBytes(data);
    }
    if (data.length === 0 && !frameFinished) return undefined;
    return new DecodedFrame(BINARY, data, frameFinished, messageFinished);
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

  /** The assembled text message ending with `last`; the assembly starts over. */
  private takeAssembledText(last: string): string {
    const text = this.assembledText + last;
    this.assembledText = "";
    return text;
  }

  /** The assembled binary message ending with `last`, joined into one array; starts over. */
  /**
   * The last piece of an assembled binary message is here: join the pieces into one array. Under
   * a work quantum a join larger than the quantum is done a quantum at a time (continueJoin):
   * copying 64 MiB into fresh memory costs a few hundred milliseconds of page faults here.
   */
  private finishAssembledBytes(last: Uint8Array): Frame | null {
    const pieces = this.assembledPieces;
    if (pieces === null || this.assembledBytes + last.length <= this.workQuantum) {
      return new DecodedFrame(BINARY, this.takeAssembledBytes(last), true, true);
    }
    if (last.length > 0) pieces.push(last);
    this.assembledBytes += last.length;
    this.assembledPieces = null;
    this.joining = { target: allocateFilled(this.assembledBytes), pieces, index: 0, filled: 0 };
    return this.continueJoin();
  }

  /** Copy the next quantum of a join; the message's Frame once whole, else null (workPending). */
  private continueJoin(): Frame | null {
    const joining = this.joining!;
    const { target, pieces } = joining;
    let copied = 0;
    while (joining.index < pieces.length) {
      if (copied >= this.workQuantum) {
        this.stoppedForWork = true;
        return null;
      }
      const piece = pieces[joining.index]!;
      target.set(piece, joining.filled);
      joining.filled += piece.length;
      copied += piece.length;
      this.assembledBytes -= piece.length;
      pieces[joining.index++] = EMPTY; // copied: no longer held twice
    }
    this.joining = null;
    this.assembledBytes = 0;
    return new DecodedFrame(BINARY, target, true, true);
  }

  private takeAssembledBytes(last: Uint8Array): Uint8Array {
    const pieces = this.assembledPieces;
    if (pieces === null) return last;
    this.assembledPieces = null;
    this.assembledBytes = 0;
    if (last.length > 0) pieces.push(last);
    return concatBytes(pieces);
  }

  /**
   * Runs a data piece through the extensions' inbound hooks and counts it against the limit.
   * When an assembled message's output would outgrow the memory budget before maxMessageSize,
   * the hooks are held to what the budget has left, and passing it fails with 1013.
   */
  private applyExtensions(piece: Uint8Array, frameFinished: boolean): Uint8Array {
    const sizeBudget = this.maxMessageSize - this.messageSize;
    const room = this.assemble && this.memory !== null ? this.memory.available - HELD_ARRAY_OVERHEAD : Infinity;
    if (room >= sizeBudget) return this.applyExtensionsWithin(piece, frameFinished, sizeBudget);
    try {
      return this.applyExtensionsWithin(piece, frameFinished, room);
    } catch (error) {
      if (error instanceof ParseFailed && error.code === 1009) throw this.overBudget();
      throw error;
    }
  }

  private applyExtensionsWithin(piece: Uint8Array, frameFinished: boolean, budget: number): Uint8Array {
    const extensions = this.extensions!;
    let data = piece;
    if (data.length > 0) data = this.inboundThrough(extensions, 0, data, budget);
    if (frameFinished) {
      for (let index = 0; index < extensions.length; index++) {
        let tail: Uint8Array | null;
        try {
          tail = extensions[index]!.frameInboundComplete(this.fin, budget - data.length);
        } catch (error) {
          // The payload hooks' output of this piece has not been checked yet: it comes first.
          throw this.failureAfter(error, index === extensions.length - 1 ? data : EMPTY, budget);
        }
        if (tail === null || tail.length === 0) continue;
        // What an extension flushes at the end of the frame is still payload for the ones after it.
        tail = this.inboundThrough(extensions, index + 1, tail, budget - data.length);
        data = data.length === 0 ? tail : concatenate(data, tail);
      }
    }
    this.messageSize += data.length;
    if (data.length > budget) throw this.tooBigAfter(data, budget);
    return data;
  }

  private inboundThrough(extensions: readonly Extension[], from: number, data: Uint8Array, budget: number): Uint8Array {
    let result = data;
    for (let index = from; index < extensions.length; index++) {
      try {
        result = extensions[index]!.frameInboundPayloadData(result, budget);
      } catch (error) {
        throw index === extensions.length - 1 ? this.failureAfter(error, EMPTY, budget) : error;
      }
      if (result.length > budget) throw index === extensions.length - 1 ? this.tooBigAfter(result, budget) : this.tooBig();
    }
    return result;
  }

  /**
   * The failure to report when the last extension's hook threw `error` after `unchecked` (its
   * output not yet delivered) and its own `payloadBefore`: see `firstFailure`.
   */
  private failureAfter(error: unknown, unchecked: Uint8Array, budget: number): unknown {
    if (!(error instanceof ParseFailed)) return error;
    return this.firstFailure(error, unchecked.length === 0 ? error.payloadBefore : [unchecked, ...error.payloadBefore], budget);
  }

  private tooBig(): ParseFailed {
    return new ParseFailed(`message larger than maxMessageSize (${this.maxMessageSize} bytes) (RFC 6455 §10.4)`, 1009);
  }

  /** A piece of final (post-extension) data passed the budget: see `firstFailure`. */
  private tooBigAfter(data: Uint8Array, budget: number): ParseFailed {
    return this.firstFailure(this.tooBig(), [data], budget);
  }

  /**
   * `failure`, unless a text message's bytes produced before it (`pieces`, in order) hold
   * invalid UTF-8 within the budget: then that 1007, so that the first problem in stream order
   * is the one reported, however the transport chunked the message.
   */
  private firstFailure(failure: ParseFailed, pieces: readonly Uint8Array[], budget: number): ParseFailed {
    if (this.messageOpcode !== TEXT) return failure;
    const utf8 = (this.utf8 ??= new Utf8StreamDecoder());
    let room = budget;
    try {
      for (const bytes of pieces) {
        if (room <= 0) break;
        utf8.decode(bytes.length > room ? bytes.subarray(0, room) : bytes, false);
        room -= bytes.length;
      }
    } catch (invalid) {
      if (invalid instanceof ParseFailed) return invalid;
      throw invalid;
    }
    return failure;
  }


  /** `length` payload bytes that lie in `chunk` from `start`, unmasked in place. */
  private takeContiguous(chunk: Uint8Array, start: number, length: number): Uint8Array {
    const piece = chunk.subarray(start, start + length);
    this.skip(length);
    this.acceptPayload(piece);
    return piece;
  }

  /**
   * The next `length` payload bytes as one array: a subarray unmasked in place when they lie in
   * one chunk, else a new array they are unmasked into as they are copied (one pass).
   */
  private takeWhole(length: number): Uint8Array {
    const chunk = this.chunks[this.head];
    if (length === 0) return EMPTY;
    if (chunk!.length - this.offset >= length) {
      const piece = chunk!.subarray(this.offset, this.offset + length);
      this.skip(length);
      this.acceptPayload(piece);
      return piece;
    }
    // The bytes have arrived (callers check), so this allocation is bounded by what we hold,
    // and every byte of it is written below.
    const piece = allocateFilled(length);
    const unmask = this.masked && !this.maskKeyIsZero;
    let copied = 0;
    while (copied < length) {
      const source = this.chunks[this.head]!;
      const available = Math.min(source.length - this.offset, length - copied);
      const segment = source.subarray(this.offset, this.offset + available);
      if (unmask) this.masker.mask(segment, this.keyAt(this.payloadRead + copied), piece, copied);
      else piece.set(segment, copied);
      copied += available;
      this.skip(available);
    }
    this.payloadRead += length;
    this.payloadRemaining -= length;
    return piece;
  }

  /** Counts `piece` as read from the current frame's payload and unmasks it in place. */
  private acceptPayload(piece: Uint8Array): void {
    const read = this.payloadRead;
    this.payloadRead = read + piece.length;
    this.payloadRemaining -= piece.length;
    if (!this.masked || this.maskKeyIsZero || piece.length === 0) return;
    this.masker.unmask(piece, this.keyAt(read));
  }

  /**
   * The frame's key as seen from payload offset `phase`, in a scratch array shared by every
   * decoder: maskers are synchronous and keep no reference to it.
   */
  private keyAt(phase: number): Uint8Array {
    const word = this.maskKeyWord;
    const shift = (phase & 3) * 8;
    const key = KEY_SCRATCH;
    key[0] = word >>> shift;
    key[1] = word >>> ((shift + 8) & 31);
    key[2] = word >>> ((shift + 16) & 31);
    key[3] = word >>> ((shift + 24) & 31);
    return key;
  }

  /** Copies the next `length` buffered bytes into `target` and consumes them. */
  private copyBuffered(target: Uint8Array, length: number): void {
    let copied = 0;
    while (copied < length) {
      const chunk = this.chunks[this.head]!;
      const available = Math.min(chunk.length - this.offset, length - copied);
      target.set(chunk.subarray(this.offset, this.offset + available), copied);
      copied += available;
      this.skip(available);
    }
  }

  /** Consumes `length` buffered bytes; the head chunk always has unread bytes, or none is left. */
  private skip(length: number): void {
    this.buffered -= length;
    let offset = this.offset + length;
    const chunks = this.chunks;
    while (offset >= chunks[this.head]!.length) {
      offset -= chunks[this.head]!.length;
      // Drop our reference so a consumed chunk can be collected while later ones wait.
      chunks[this.head] = EMPTY;
      this.head++;
      if (this.head === chunks.length) {
        chunks.length = 0;
        this.head = 0;
        offset = 0;
        if (this.block !== null) this.releaseBlock();
        break;
      }
    }
    this.offset = offset;
    if (this.head > 64 && this.head * 2 > chunks.length) {
      chunks.splice(0, this.head);
      this.head = 0;
    }
  }
}

function concatenate(first: Uint8Array, second: Uint8Array): Uint8Array {
  const result = new Uint8Array(first.length + second.length);
  result.set(first, 0);
  result.set(second, first.length);
  return result;
}

function extensionFailure(error: unknown): ParseFailed {
  const message = error instanceof Error ? error.message : String(error);
  const failure = new ParseFailed(`extension failed while decoding a frame: ${message}`, 1011);
  failure.cause = error;
  return failure;
}
