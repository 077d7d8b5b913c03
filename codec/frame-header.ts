/**
 * Frame headers (RFC 6455 §5.2) for the frame decoder (./frame-decoder.ts), which extends
 * FrameHeaderReader so that the fields its hot path reads per frame live on the decoder itself.
 *
 * ```ts
 * abstract class FrameHeaderReader extends FramePayloadReader {
 *   constructor(options: FrameDecoderOptions);
 *   protected readHeader(): boolean; // reads and checks the next header; false until it has arrived
 *   // protected: client, maxMessageSize, maxFragments, extensions, extensionRsv, state, fin,
 *   // opcode, and the data message's messageOpcode (0: none), messageSize, messageFrames
 * }
 * READ_HEADER: number;               // `state` while a header is awaited (else a payload is)
 * ```
 *
 * The header's checks, its length and key fields, and the extensions' RSV claims are functions
 * of this module of their own (checkHeaderStart, readPayloadLength, readMaskKey, askExtensions).
 */
import type { Extension } from "./extension.js";
import { Opcode, ParseFailed, type RsvBits } from "./frame.js";
import type { FrameDecoderOptions } from "./frame-decoder-options.js";
import { FramePayloadReader } from "./frame-payload.js";
import { InboundExtensions, messageTooBig } from "./inbound-extensions.js";
import { getMasker } from "./mask.js";

// Copied into a module constant: some loaders turn every `Opcode.X` into a getter call.
const CONTINUATION: Opcode = Opcode.CONTINUATION;

/** FrameHeaderReader.state: reading a header, or the payload of the frame it announced. */
export const READ_HEADER = 0;
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
 * A scratch array shared by every decoder (decoding is synchronous and nothing keeps it across
 * calls), so that an idle connection does not carry it: a frame header split across chunks is
 * gathered here.
 */
const HEADER_SCRATCH = new Uint8Array(14);

/** The most a 64-bit length may be for the payload to be counted exactly: 2^53 − 1. */
const MAX_SAFE_HIGH_WORD = 0x1fffff;

/**
 * Checks that need only the first two bytes of a header: `extensionRsv` holds the RSV bits some
 * enabled extension may claim, `messageOpcode` that of the unfinished data message (0: none).
 */
function checkHeaderStart(
  fin: boolean,
  rsv: number,
  opcode: number,
  masked: boolean,
  length: number,
  client: boolean,
  extensionRsv: number,
  messageOpcode: number,
): void {
  if ((opcode >= 0x3 && opcode <= 0x7) || opcode >= 0xb) {
    const kind = opcode >= 0xb ? "control" : "non-control";
    throw new ParseFailed(`reserved ${kind} opcode 0x${opcode.toString(16)} (RFC 6455 §5.2)`);
  }
  const unclaimable = rsv & ~extensionRsv;
  if (unclaimable !== 0) {
    throw new ParseFailed(`${firstRsvName(unclaimable)} set but no negotiated extension claims it (RFC 6455 §5.2)`);
  }
  if (opcode >= 0x8) {
    if (!fin) throw new ParseFailed("fragmented control frame: control frames must have FIN set (RFC 6455 §5.5)");
    if (length > 125) {
      throw new ParseFailed("control frame payload longer than 125 bytes (RFC 6455 §5.5)");
    }
  } else if (opcode === CONTINUATION) {
    if (messageOpcode === 0) {
      throw new ParseFailed("continuation frame without a fragmented message to continue (RFC 6455 §5.4)");
    }
  } else if (messageOpcode !== 0) {
    throw new ParseFailed("new data message started while a fragmented message is unfinished (RFC 6455 §5.4)");
  }
  if (masked === client) {
    throw new ParseFailed(
      client
        ? "masked frame from the server: a server must not mask frames (RFC 6455 §5.1)"
        : "unmasked frame from the client: a client must mask every frame (RFC 6455 §5.1)",
    );
  }
}

/** Asks each extension which RSV bits of the header it accounts for; every set bit must be. */
function askExtensions(extensions: readonly Extension[], opcode: number, rsv: number, length: number): void {
  let unclaimed = rsv;
  const rsvBits = RSV_BITS[rsv]!;
  for (const extension of extensions) {
    const claimed = rsvBitsToNumber(extension.frameInboundHeader(opcode as Opcode, rsvBits, length));
    // An extension can only account for bits it was negotiated to use.
    unclaimed &= ~(claimed & rsvBitsToNumber(extension.rsvBits));
  }
  if (unclaimed !== 0) {
    throw new ParseFailed(`${firstRsvName(unclaimed)} set but no negotiated extension claims it (RFC 6455 §5.2)`);
  }
}

/**
 * The payload length of a header whose 7-bit length is `length7` (126 or 127), read from the
 * bytes after its first two at `source[base]`; throws unless it is in its shortest form.
 */
function readPayloadLength(source: Uint8Array, base: number, length7: number): number {
  if (length7 === 126) {
    const length = (source[base + 2]! << 8) | source[base + 3]!;
    if (length < 126) {
      throw new ParseFailed(`payload length ${length} sent in the 16-bit form; up to 125 the 7-bit form is required (RFC 6455 §5.2)`);
    }
    return length;
  }
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
  return high * 0x100000000 + low;
}

/** The masking key at `source[at]`, key byte i in bits 8i..8i+7. */
function readMaskKey(source: Uint8Array, at: number): number {
  return source[at]! | (source[at + 1]! << 8) | (source[at + 2]! << 16) | (source[at + 3]! << 24);
}

/**
 * Reads frame headers for the frame decoder (./frame-decoder.ts, which extends this class so that
 * the fields its hot path reads per frame live on the decoder itself): checks each header, counts
 * a data frame to its message, and sets up the frame whose payload is read next.
 */
export abstract class FrameHeaderReader extends FramePayloadReader {
  protected readonly client: boolean;
  protected readonly maxMessageSize: number;
  protected readonly maxFragments: number;
  /** null when no extension is enabled: the fast path, and messages counted from headers. */
  protected readonly extensions: InboundExtensions | null;
  /** RSV bits some enabled extension may claim. */
  protected readonly extensionRsv: number;

  protected state = READ_HEADER;

  // The frame being read.
  protected fin = false;
  protected opcode = 0;

  // The data message being read: its opcode (0 when none), its size and its frames so far.
  protected messageOpcode = 0;
  protected messageSize = 0;
  protected messageFrames = 0;

  constructor(options: FrameDecoderOptions) {
    super(options.masker ?? getMasker());
    this.client = options.client;
    this.maxMessageSize = options.maxMessageSize;
    this.maxFragments = options.maxFragments ?? Infinity;
    const extensions = options.extensions ?? [];
    this.extensions = extensions.length === 0 ? null : new InboundExtensions(extensions, this.maxMessageSize);
    this.extensionRsv = extensions.reduce((bits, extension) => bits | rsvBitsToNumber(extension.rsvBits), 0);
  }

  /** Reads and checks a frame header; false if it has not fully arrived. */
  protected readHeader(): boolean {
    const input = this.input;
    if (input.buffered < 2) return false;
    const chunk = input.chunks[input.head]!;
    let source = chunk;
    let base = input.offset;
    const contiguous = chunk.length - base;
    const first = chunk[base]!;
    const second = contiguous >= 2 ? chunk[base + 1]! : input.chunks[input.head + 1]![0]!;

    // Checks that need only the first two bytes run as soon as they arrive, so a peer that
    // sends garbage is failed without waiting for a length or key that may never come.
    const fin = (first & 0x80) !== 0;
    const rsv = (first >>> 4) & 7;
    const opcode = first & 0x0f;
    const masked = (second & 0x80) !== 0;
    let length = second & 0x7f;
    checkHeaderStart(fin, rsv, opcode, masked, length, this.client, this.extensionRsv, this.messageOpcode);

    const lengthBytes = length === 126 ? 2 : length === 127 ? 8 : 0;
    const headerLength = 2 + lengthBytes + (masked ? 4 : 0);
    if (input.buffered < headerLength) return false;
    if (contiguous < headerLength) {
      input.copyTo(HEADER_SCRATCH, headerLength);
      source = HEADER_SCRATCH;
      base = 0;
    }
    if (lengthBytes !== 0) length = readPayloadLength(source, base, length);
    if (masked) {
      const word = readMaskKey(source, base + 2 + lengthBytes);
      this.maskKeyWord = word;
      this.maskKeyIsZero = word === 0;
    }
    if (source === chunk) input.skip(headerLength);

    if (this.extensions !== null) askExtensions(this.extensions.list, opcode, rsv, length);
    if (opcode < 0x8) this.startDataFrame(opcode, length);

    this.fin = fin;
    this.opcode = opcode;
    this.masked = masked;
    this.payloadRemaining = length;
    this.payloadRead = 0;
    this.state = READ_PAYLOAD;
    return true;
  }

  /** A data frame's header was read: count it (and, without extensions, its size) to its message. */
  private startDataFrame(opcode: number, length: number): void {
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
      if (this.messageSize > this.maxMessageSize) throw messageTooBig(this.maxMessageSize);
    }
  }
}
