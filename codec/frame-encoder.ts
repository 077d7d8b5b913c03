/**
 * Frame encoder (RFC 6455 §5): turns messages and control payloads into wire bytes.
 *
 * Public interface:
 *
 * ```ts
 * interface FrameEncoderOptions {
 *   client: boolean;                      // client frames are masked with a fresh key (RFC 6455 §5.3)
 *   extensions?: readonly Extension[];    // the enabled extensions; frameOutbound runs on data frames
 *   masker?: Masker;                      // default: getMasker() when the encoder is created
 *   randomMaskKey?: (key: Uint8Array) => void; // fills key[0..3]; default: pooled crypto.getRandomValues
 * }
 * class FrameEncoder {
 *   constructor(options: FrameEncoderOptions);
 *   text(data: string, fin?: boolean): Uint8Array;        // fin defaults to true
 *   binary(data: Uint8Array, fin?: boolean): Uint8Array;
 *   textParts(data: string, fin?: boolean): Uint8Array[]; // [header, payload] for writev (server)
 *   binaryParts(data: Uint8Array, fin?: boolean): Uint8Array[];
 *   textBytes(data: Uint8Array, fin?: boolean): Uint8Array;        // text given as UTF-8 bytes: validated, not re-encoded
 *   textBytesParts(data: Uint8Array, fin?: boolean): Uint8Array[];
 *   textRefusal(data: string | Uint8Array, fin: boolean): LocalProtocolError | null; // as refusal(TEXT), and the bytes' UTF-8
 *   ping(payload?: Uint8Array): Uint8Array;
 *   pong(payload?: Uint8Array): Uint8Array;
 *   close(code?: number, reason?: string): Uint8Array;    // no code: empty body
 *   get messageInProgress(): boolean;     // a fragmented message was started and not finished
 * }
 * ```
 *
 * Each call returns one whole frame in a single buffer (header and payload in one allocation).
 * The `…Parts` forms skip the payload copy for a server: the payload array is returned as is
 * (so the caller must not change it until it is written); a client's frame must be masked into
 * new memory anyway, so for a client they return the single buffer.
 *
 * Data frames follow the outbound message: the first frame carries TEXT or BINARY, later ones
 * CONTINUATION, until a frame with `fin`. Starting a message of the other type while one is
 * unfinished, or a control payload over 125 bytes, throws LocalProtocolError and changes nothing.
 * Control frames may be sent between the fragments of a message (RFC 6455 §5.4).
 */
import { LocalProtocolError } from "./errors.js";
import type { Extension } from "./extension.js";
import { buildClosePayload } from "./close.js";
import { NO_RSV_BITS, Opcode, type RsvBits } from "./frame.js";
import { allocateFilled } from "./bytes.js";
import { fillRandomMaskKey, getMasker, type Masker } from "./mask.js";
import { encodeUtf8, encodeUtf8Into, utf8ByteLength } from "./utf8.js";
import { Utf8Validator } from "./utf8-validation.js";

/**
 * A validator that is never given a piece (only asked, and `accepts` remembers nothing): it answers
 * for an encoder that has not sent text as bytes yet, so asking allocates nothing.
 */
const NO_SPLIT = new Utf8Validator();

export interface FrameEncoderOptions {
  /** We are the client: every frame is masked with a fresh random key (RFC 6455 §5.3). */
  client: boolean;
  /** The enabled extensions, in negotiation order; `frameOutbound` runs on data frames only. */
  extensions?: readonly Extension[];
  /** How to mask payloads; defaults to the process-wide masker (see ./mask.ts). */
  masker?: Masker;
  /** Writes the next frame's masking key into key[0..3]; the default draws from crypto.getRandomValues. */
  randomMaskKey?: (key: Uint8Array) => void;
}

const EMPTY = new Uint8Array(0);

// Module constants rather than `Opcode.X` on every call: some loaders (tsx, bundlers' interop)
// turn each access to an imported binding into a getter call.
const CONTINUATION: Opcode = Opcode.CONTINUATION;
const TEXT: Opcode = Opcode.TEXT;
const BINARY: Opcode = Opcode.BINARY;
const CLOSE: Opcode = Opcode.CLOSE;
const PING: Opcode = Opcode.PING;
const PONG: Opcode = Opcode.PONG;
const NO_RSV: RsvBits = NO_RSV_BITS;

/** A control frame's payload is at most 125 bytes (RFC 6455 §5.5). */
const MAX_CONTROL_PAYLOAD = 125;

/*
 * Short ASCII text is written straight into the frame, character by character: cheaper than a
 * TextEncoder call plus a copy for the short messages that dominate chat-like traffic.
 */
const ASCII_DIRECT_MAX = 64;

/*
 * From this size a masked payload is placed in the frame buffer at the same alignment (mod 4)
 * as the source, so the word-wide masker copies and masks in one pass (see ./mask.ts).
 */
const ALIGNED_MASK_MIN = 1024;

/**
 * The masking key of the frame being encoded, shared by every encoder: encoding is synchronous,
 * the key is copied into the frame header at once, and a masker keeps no reference to it. Saves
 * an array per connection.
 */
const KEY_SCRATCH = new Uint8Array(4);

function headerLength(payloadLength: number, masked: boolean): number {
  const lengthBytes = payloadLength <= 125 ? 0 : payloadLength <= 0xffff ? 2 : 8;
  return 2 + lengthBytes + (masked ? 4 : 0);
}

/** Writes a frame header at `target[0..]`; returns where the payload starts. */
function writeHeader(target: Uint8Array, first: number, payloadLength: number, maskKey: Uint8Array | null): number {
  target[0] = first;
  const maskBit = maskKey === null ? 0 : 0x80;
  let at: number;
  if (payloadLength <= 125) {
    target[1] = maskBit | payloadLength;
    at = 2;
  } else if (payloadLength <= 0xffff) {
    target[1] = maskBit | 126;
    target[2] = payloadLength >>> 8;
    target[3] = payloadLength & 0xff;
    at = 4;
  } else {
    target[1] = maskBit | 127;
    const high = Math.floor(payloadLength / 0x100000000);
    const low = payloadLength >>> 0;
    target[2] = high >>> 24;
    target[3] = (high >>> 16) & 0xff;
    target[4] = (high >>> 8) & 0xff;
    target[5] = high & 0xff;
    target[6] = low >>> 24;
    target[7] = (low >>> 16) & 0xff;
    target[8] = (low >>> 8) & 0xff;
    target[9] = low & 0xff;
    at = 10;
  }
  if (maskKey !== null) {
    target[at] = maskKey[0]!;
    target[at + 1] = maskKey[1]!;
    target[at + 2] = maskKey[2]!;
    target[at + 3] = maskKey[3]!;
    at += 4;
  }
  return at;
}

function firstByte(fin: boolean, rsv: RsvBits, opcode: number): number {
  return (fin ? 0x80 : 0) | (rsv.rsv1 ? 0x40 : 0) | (rsv.rsv2 ? 0x20 : 0) | (rsv.rsv3 ? 0x10 : 0) | opcode;
}

function opcodeName(opcode: number): string {
  return opcode === TEXT ? "text" : "binary";
}

export class FrameEncoder {
  private readonly client: boolean;
  private readonly extensions: readonly Extension[] | null;
  private readonly masker: Masker;
  private readonly randomMaskKey: (key: Uint8Array) => void;
  /** TEXT or BINARY while a fragmented outbound message is unfinished, else 0. */
  private messageOpcode = 0;
  /** A text message sent as bytes in fragments: where its UTF-8 stands (made on first need). */
  private outgoingText: Utf8Validator | null = null;

  constructor(options: FrameEncoderOptions) {
    this.client = options.client;
    const extensions = options.extensions ?? [];
    this.extensions = extensions.length === 0 ? null : extensions;
    this.masker = options.masker ?? getMasker();
    this.randomMaskKey = options.randomMaskKey ?? fillRandomMaskKey;
  }

  /** A data message was started with `fin` false and not finished yet. */
  get messageInProgress(): boolean {
    return this.messageOpcode !== 0;
  }

  /** A frame of a text message: the whole message, or with `fin` false one fragment of it. */
  text(data: string, fin = true): Uint8Array {
    const opcode = this.wireOpcode(TEXT);
    if (this.outgoingText?.splitCodePoint === true) throw splitCodePointLeft();
    let frame: Uint8Array;
    if (this.extensions !== null) {
      frame = this.dataFrame(opcode, encodeUtf8(data), fin);
    } else {
      frame = (data.length <= ASCII_DIRECT_MAX ? this.asciiFrame(opcode, data, fin) : null) ?? this.textFrame(opcode, data, fin);
    }
    this.messageOpcode = fin ? 0 : TEXT;
    return frame;
  }

  /** A frame of a binary message: the whole message, or with `fin` false one fragment of it. */
  binary(data: Uint8Array, fin = true): Uint8Array {
    const frame = this.dataFrame(this.wireOpcode(BINARY), data, fin);
    this.messageOpcode = fin ? 0 : BINARY;
    return frame;
  }

  /** As `text`, as separate header and payload chunks (see the module comment). */
  textParts(data: string, fin = true): Uint8Array[] {
    if (this.messageOpcode === TEXT && this.outgoingText?.splitCodePoint === true) throw splitCodePointLeft();
    const parts = this.dataParts(this.wireOpcode(TEXT), encodeUtf8(data), fin);
    this.messageOpcode = fin ? 0 : TEXT;
    return parts;
  }

  /**
   * A frame of a text message given as its UTF-8 bytes (a TextBytesMessage), sent as they are
   * once validated (RFC 6455 §8.1); a code point may be split between fragments.
   */
  textBytes(data: Uint8Array, fin = true): Uint8Array {
    const opcode = this.wireOpcode(TEXT);
    this.checkTextBytes(data, fin);
    const frame = this.dataFrame(opcode, data, fin);
    this.messageOpcode = fin ? 0 : TEXT;
    return frame;
  }

  /** As `textBytes`, without copying the payload for a server (see the module comment). */
  textBytesParts(data: Uint8Array, fin = true): Uint8Array[] {
    const opcode = this.wireOpcode(TEXT);
    this.checkTextBytes(data, fin);
    const parts = this.dataParts(opcode, data, fin);
    this.messageOpcode = fin ? 0 : TEXT;
    return parts;
  }

  /** As `refusal(TEXT)`, and whether `data` continues the message as valid UTF-8; changes nothing. */
  textRefusal(data: string | Uint8Array, fin: boolean): LocalProtocolError | null {
    const refusal = this.refusal(TEXT);
    if (refusal !== null) return refusal;
    if (typeof data === "string") return this.outgoingText?.splitCodePoint === true ? splitCodePointLeft() : null;
    return (this.outgoingText ?? NO_SPLIT).accepts(data, fin) ? null : notUtf8();
  }

  /** As `binary`, without copying the payload for a server (see the module comment). */
  binaryParts(data: Uint8Array, fin = true): Uint8Array[] {
    const parts = this.dataParts(this.wireOpcode(BINARY), data, fin);
    this.messageOpcode = fin ? 0 : BINARY;
    return parts;
  }

  ping(payload: Uint8Array = EMPTY): Uint8Array {
    return this.controlFrame(PING, payload, "ping");
  }

  pong(payload: Uint8Array = EMPTY): Uint8Array {
    return this.controlFrame(PONG, payload, "pong");
  }

  /** A close frame; a reason over 123 bytes is refused (see buildClosePayload in ./close.ts). */
  close(code?: number, reason?: string): Uint8Array {
    return this.controlFrame(CLOSE, buildClosePayload(code, reason), "close");
  }

  /**
   * Why a frame of this kind (TEXT, BINARY, or a control opcode with its payload length) cannot be
   * sent now, or null: what encoding it would throw, found without encoding it (encoding a data
   * frame advances the compressor's history, RFC 7692, so a question must not encode).
   */
  refusal(opcode: number, controlPayloadLength = 0): LocalProtocolError | null {
    if (opcode >= 0x8) {
      if (controlPayloadLength <= MAX_CONTROL_PAYLOAD) return null;
      const name = opcode === PING ? "ping" : opcode === PONG ? "pong" : "close";
      return new LocalProtocolError(`${name} payload of ${controlPayloadLength} bytes: control frames carry at most 125 (RFC 6455 §5.5)`);
    }
    if (this.messageOpcode === 0 || this.messageOpcode === opcode) return null;
    return new LocalProtocolError(
      `cannot send ${opcodeName(opcode)} data while a fragmented ${opcodeName(this.messageOpcode)} message is unfinished (RFC 6455 §5.4)`,
    );
  }

  /**
   * Throws LocalProtocolError, changing nothing, unless `data` continues the text message as valid
   * UTF-8. A whole message is one validator call (Utf8Validator's own fast path).
   */
  private checkTextBytes(data: Uint8Array, fin: boolean): void {
    if (!(this.outgoingText ??= new Utf8Validator()).check(data, fin)) throw notUtf8();
  }

  private wireOpcode(opcode: number): number {
    if (this.messageOpcode === 0) return opcode;
    if (this.messageOpcode !== opcode) throw this.refusal(opcode)!;
    return CONTINUATION;
  }

  private controlFrame(opcode: number, payload: Uint8Array, name: string): Uint8Array {
    if (payload.length > MAX_CONTROL_PAYLOAD) throw this.refusal(opcode, payload.length)!;
    return this.frame(firstByte(true, NO_RSV, opcode), payload);
  }

  private dataFrame(opcode: number, data: Uint8Array, fin: boolean): Uint8Array {
    if (this.extensions === null) return this.frame(firstByte(fin, NO_RSV, opcode), data);
    const { rsv, data: payload } = this.outbound(opcode, data, fin);
    return this.frame(firstByte(fin, rsv, opcode), payload);
  }

  private dataParts(opcode: number, data: Uint8Array, fin: boolean): Uint8Array[] {
    let first = firstByte(fin, NO_RSV, opcode);
    let payload = data;
    if (this.extensions !== null) {
      const result = this.outbound(opcode, data, fin);
      first = firstByte(fin, result.rsv, opcode);
      payload = result.data;
    }
    if (this.client) return [this.frame(first, payload)];
    const header = new Uint8Array(headerLength(payload.length, false));
    writeHeader(header, first, payload.length, null);
    return payload.length === 0 ? [header] : [header, payload];
  }

  private outbound(opcode: number, data: Uint8Array, fin: boolean): { rsv: RsvBits; data: Uint8Array } {
    let result = { rsv: NO_RSV, data };
    for (const extension of this.extensions!) {
      result = extension.frameOutbound(opcode as Opcode, result.rsv, result.data, fin);
    }
    return result;
  }

  /** Header and payload in one buffer, the payload masked for a client. */
  private frame(first: number, payload: Uint8Array): Uint8Array {
    const length = payload.length;
    if (!this.client) {
      // Header and payload overwrite every byte, so the array need not be zero-filled first.
      const frame = allocateFilled(headerLength(length, false) + length);
      frame.set(payload, writeHeader(frame, first, length, null));
      return frame;
    }
    const key = KEY_SCRATCH;
    this.randomMaskKey(key);
    const size = headerLength(length, true) + length;
    let frame: Uint8Array;
    if (length >= ALIGNED_MASK_MIN) {
      const start = (payload.byteOffset - (size - length)) & 3;
      frame = new Uint8Array(new ArrayBuffer(start + size), start, size);
    } else {
      frame = new Uint8Array(size);
    }
    const at = writeHeader(frame, first, length, key);
    if (length > 0) this.masker.mask(payload, key, frame, at);
    return frame;
  }

  /** A frame with `text` encoded straight into it: one allocation of the exact size, no copy. */
  private textFrame(opcode: number, text: string, fin: boolean): Uint8Array {
    const length = utf8ByteLength(text);
    const masked = this.client;
    const at = headerLength(length, masked);
    // Every byte is written below (the header, then exactly `length` bytes of text).
    const frame = allocateFilled(at + length);
    let key: Uint8Array | null = null;
    if (masked) {
      key = KEY_SCRATCH;
      this.randomMaskKey(key);
    }
    writeHeader(frame, firstByte(fin, NO_RSV, opcode), length, key);
    const written = encodeUtf8Into(text, frame, at);
    if (written !== length) throw new Error(`UTF-8 length of a text frame miscounted: ${written} != ${length}`);
    if (key !== null && length > 0) this.masker.unmask(frame.subarray(at), key);
    return frame;
  }

  /** A frame for `text` written without TextEncoder, or null if `text` is not all ASCII. */
  private asciiFrame(opcode: number, text: string, fin: boolean): Uint8Array | null {
    const length = text.length;
    for (let i = 0; i < length; i++) {
      if (text.charCodeAt(i) >= 0x80) return null;
    }
    const masked = this.client;
    const frame = new Uint8Array(headerLength(length, masked) + length);
    const first = firstByte(fin, NO_RSV, opcode);
    if (!masked) {
      const at = writeHeader(frame, first, length, null);
      for (let i = 0; i < length; i++) frame[at + i] = text.charCodeAt(i);
      return frame;
    }
    const key = KEY_SCRATCH;
    this.randomMaskKey(key);
    const at = writeHeader(frame, first, length, key);
    const k0 = key[0]!;
    const k1 = key[1]!;
    const k2 = key[2]!;
    const k3 = key[3]!;
    let i = 0;
    for (; i + 4 <= length; i += 4) {
      frame[at + i] = text.charCodeAt(i) ^ k0;
      frame[at + i + 1] = text.charCodeAt(i + 1) ^ k1;
      frame[at + i + 2] = text.charCodeAt(i + 2) ^ k2;
      frame[at + i + 3] = text.charCodeAt(i + 3) ^ k3;
    }
    for (; i < length; i++) frame[at + i] = text.charCodeAt(i) ^ key[i & 3]!;
    return frame;
  }
}

function notUtf8(): LocalProtocolError {
  return new LocalProtocolError("TextBytesMessage data is not valid UTF-8: a text message must be (RFC 6455 §8.1); send it as a BytesMessage, or decode it first");
}

function splitCodePointLeft(): LocalProtocolError {
  return new LocalProtocolError("the text message's last fragment ended inside a UTF-8 code point: finish it with a TextBytesMessage before sending text as a string (RFC 6455 §8.1)");
}
