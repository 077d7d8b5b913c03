/**
 * UTF-8 for text frames and close reasons (RFC 6455 §5.6, §8.1): strict validation, incremental
 * across chunks and fragments, portable (TextDecoder/TextEncoder only).
 *
 * Public interface:
 *
 * ```ts
 * class Utf8StreamDecoder {
 *   decode(bytes: Uint8Array, end: boolean): string; // throws ParseFailed(…, 1007)
 *   get pendingBytes(): number;  // bytes of an unfinished code point held for the next call
 *   reset(): void;
 * }
 * function decodeUtf8(bytes: Uint8Array): string;   // whole input; throws ParseFailed(…, 1007)
 * function decodeShortAsciiMasked(bytes, offset, length, keyWord): string | null; // ≤ 16 masked ASCII bytes
 * function encodeUtf8(text: string): Uint8Array;
 * function encodeUtf8Into(text: string, target: Uint8Array, offset: number): number;
 * function utf8ByteLength(text: string): number;     // what encodeUtf8 would produce, without encoding
 * function truncateUtf8(bytes: Uint8Array, maxLength: number): Uint8Array; // on a code-point boundary
 * ```
 */
import { ParseFailed } from "./frame.js";

/*
 * Below this length a text payload that is all ASCII is turned into a string with one
 * String.fromCharCode call instead of TextDecoder.decode, whose fixed cost dominates short
 * payloads (Node 20, 16 bytes: 53 ns against 60–95 ns; the gap grows as payloads shrink).
 * Above it TextDecoder wins.
 */
const ASCII_FAST_PATH_MAX = 16;

const fromCharCode = String.fromCharCode;

/**
 * `bytes` as a string when every byte is ASCII and there are at most ASCII_FAST_PATH_MAX of
 * them, else null. Explicit arguments, because spreading or `apply` over a typed array costs
 * more than the TextDecoder call it is meant to avoid.
 */
export function decodeShortAscii(bytes: Uint8Array): string | null {
  const length = bytes.length;
  if (length > ASCII_FAST_PATH_MAX) return null;
  let union = 0;
  for (let i = 0; i < length; i++) union |= bytes[i]!;
  if (union >= 0x80) return null;
  const b = bytes;
  switch (length) {
    case 0: return "";
    case 1: return fromCharCode(b[0]!);
    case 2: return fromCharCode(b[0]!, b[1]!);
    case 3: return fromCharCode(b[0]!, b[1]!, b[2]!);
    case 4: return fromCharCode(b[0]!, b[1]!, b[2]!, b[3]!);
    case 5: return fromCharCode(b[0]!, b[1]!, b[2]!, b[3]!, b[4]!);
    case 6: return fromCharCode(b[0]!, b[1]!, b[2]!, b[3]!, b[4]!, b[5]!);
    case 7: return fromCharCode(b[0]!, b[1]!, b[2]!, b[3]!, b[4]!, b[5]!, b[6]!);
    case 8: return fromCharCode(b[0]!, b[1]!, b[2]!, b[3]!, b[4]!, b[5]!, b[6]!, b[7]!);
    case 9: return fromCharCode(b[0]!, b[1]!, b[2]!, b[3]!, b[4]!, b[5]!, b[6]!, b[7]!, b[8]!);
    case 10: return fromCharCode(b[0]!, b[1]!, b[2]!, b[3]!, b[4]!, b[5]!, b[6]!, b[7]!, b[8]!, b[9]!);
    case 11: return fromCharCode(b[0]!, b[1]!, b[2]!, b[3]!, b[4]!, b[5]!, b[6]!, b[7]!, b[8]!, b[9]!, b[10]!);
    case 12: return fromCharCode(b[0]!, b[1]!, b[2]!, b[3]!, b[4]!, b[5]!, b[6]!, b[7]!, b[8]!, b[9]!, b[10]!, b[11]!);
    case 13: return fromCharCode(b[0]!, b[1]!, b[2]!, b[3]!, b[4]!, b[5]!, b[6]!, b[7]!, b[8]!, b[9]!, b[10]!, b[11]!, b[12]!);
    case 14: return fromCharCode(b[0]!, b[1]!, b[2]!, b[3]!, b[4]!, b[5]!, b[6]!, b[7]!, b[8]!, b[9]!, b[10]!, b[11]!, b[12]!, b[13]!);
    case 15: return fromCharCode(b[0]!, b[1]!, b[2]!, b[3]!, b[4]!, b[5]!, b[6]!, b[7]!, b[8]!, b[9]!, b[10]!, b[11]!, b[12]!, b[13]!, b[14]!);
    default: return fromCharCode(b[0]!, b[1]!, b[2]!, b[3]!, b[4]!, b[5]!, b[6]!, b[7]!, b[8]!, b[9]!, b[10]!, b[11]!, b[12]!, b[13]!, b[14]!, b[15]!);
  }
}

/**
 * As `decodeShortAscii`, for `length` (≤ ASCII_FAST_PATH_MAX) bytes at `bytes[offset]` that are
 * still masked with `keyWord` (key byte i in bits 8i..8i+7, starting at key byte 0; 0 for an
 * unmasked payload): the bytes are read and unmasked on the fly, never written, and no subarray
 * is created — the decoder's path for short text frames that lie within one chunk.
 */
export function decodeShortAsciiMasked(bytes: Uint8Array, offset: number, length: number, keyWord: number): string | null {
  if (length > ASCII_FAST_PATH_MAX) return null;
  const k0 = keyWord & 0xff;
  const k1 = (keyWord >>> 8) & 0xff;
  const k2 = (keyWord >>> 16) & 0xff;
  const k3 = keyWord >>> 24;
  let union = 0;
  let i = 0;
  for (; i + 4 <= length; i += 4) {
    union |= (bytes[offset + i]! ^ k0) | (bytes[offset + i + 1]! ^ k1) | (bytes[offset + i + 2]! ^ k2) | (bytes[offset + i + 3]! ^ k3);
  }
  if (i < length) {
    union |= bytes[offset + i]! ^ k0;
    if (i + 1 < length) union |= bytes[offset + i + 1]! ^ k1;
    if (i + 2 < length) union |= bytes[offset + i + 2]! ^ k2;
  }
  if (union >= 0x80) return null;
  const b = bytes;
  const o = offset;
  switch (length) {
    case 0: return "";
    case 1: return fromCharCode(b[o]! ^ k0);
    case 2: return fromCharCode(b[o]! ^ k0, b[o + 1]! ^ k1);
    case 3: return fromCharCode(b[o]! ^ k0, b[o + 1]! ^ k1, b[o + 2]! ^ k2);
    case 4: return fromCharCode(b[o]! ^ k0, b[o + 1]! ^ k1, b[o + 2]! ^ k2, b[o + 3]! ^ k3);
    case 5: return fromCharCode(b[o]! ^ k0, b[o + 1]! ^ k1, b[o + 2]! ^ k2, b[o + 3]! ^ k3, b[o + 4]! ^ k0);
    case 6: return fromCharCode(b[o]! ^ k0, b[o + 1]! ^ k1, b[o + 2]! ^ k2, b[o + 3]! ^ k3, b[o + 4]! ^ k0, b[o + 5]! ^ k1);
    case 7: return fromCharCode(b[o]! ^ k0, b[o + 1]! ^ k1, b[o + 2]! ^ k2, b[o + 3]! ^ k3, b[o + 4]! ^ k0, b[o + 5]! ^ k1, b[o + 6]! ^ k2);
    case 8: return fromCharCode(b[o]! ^ k0, b[o + 1]! ^ k1, b[o + 2]! ^ k2, b[o + 3]! ^ k3, b[o + 4]! ^ k0, b[o + 5]! ^ k1, b[o + 6]! ^ k2, b[o + 7]! ^ k3);
    case 9: return fromCharCode(b[o]! ^ k0, b[o + 1]! ^ k1, b[o + 2]! ^ k2, b[o + 3]! ^ k3, b[o + 4]! ^ k0, b[o + 5]! ^ k1, b[o + 6]! ^ k2, b[o + 7]! ^ k3, b[o + 8]! ^ k0);
    case 10: return fromCharCode(b[o]! ^ k0, b[o + 1]! ^ k1, b[o + 2]! ^ k2, b[o + 3]! ^ k3, b[o + 4]! ^ k0, b[o + 5]! ^ k1, b[o + 6]! ^ k2, b[o + 7]! ^ k3, b[o + 8]! ^ k0, b[o + 9]! ^ k1);
    case 11: return fromCharCode(b[o]! ^ k0, b[o + 1]! ^ k1, b[o + 2]! ^ k2, b[o + 3]! ^ k3, b[o + 4]! ^ k0, b[o + 5]! ^ k1, b[o + 6]! ^ k2, b[o + 7]! ^ k3, b[o + 8]! ^ k0, b[o + 9]! ^ k1, b[o + 10]! ^ k2);
    case 12: return fromCharCode(b[o]! ^ k0, b[o + 1]! ^ k1, b[o + 2]! ^ k2, b[o + 3]! ^ k3, b[o + 4]! ^ k0, b[o + 5]! ^ k1, b[o + 6]! ^ k2, b[o + 7]! ^ k3, b[o + 8]! ^ k0, b[o + 9]! ^ k1, b[o + 10]! ^ k2, b[o + 11]! ^ k3);
    case 13: return fromCharCode(b[o]! ^ k0, b[o + 1]! ^ k1, b[o + 2]! ^ k2, b[o + 3]! ^ k3, b[o + 4]! ^ k0, b[o + 5]! ^ k1, b[o + 6]! ^ k2, b[o + 7]! ^ k3, b[o + 8]! ^ k0, b[o + 9]! ^ k1, b[o + 10]! ^ k2, b[o + 11]! ^ k3, b[o + 12]! ^ k0);
    case 14: return fromCharCode(b[o]! ^ k0, b[o + 1]! ^ k1, b[o + 2]! ^ k2, b[o + 3]! ^ k3, b[o + 4]! ^ k0, b[o + 5]! ^ k1, b[o + 6]! ^ k2, b[o + 7]! ^ k3, b[o + 8]! ^ k0, b[o + 9]! ^ k1, b[o + 10]! ^ k2, b[o + 11]! ^ k3, b[o + 12]! ^ k0, b[o + 13]! ^ k1);
    case 15: return fromCharCode(b[o]! ^ k0, b[o + 1]! ^ k1, b[o + 2]! ^ k2, b[o + 3]! ^ k3, b[o + 4]! ^ k0, b[o + 5]! ^ k1, b[o + 6]! ^ k2, b[o + 7]! ^ k3, b[o + 8]! ^ k0, b[o + 9]! ^ k1, b[o + 10]! ^ k2, b[o + 11]! ^ k3, b[o + 12]! ^ k0, b[o + 13]! ^ k1, b[o + 14]! ^ k2);
    default: return fromCharCode(b[o]! ^ k0, b[o + 1]! ^ k1, b[o + 2]! ^ k2, b[o + 3]! ^ k3, b[o + 4]! ^ k0, b[o + 5]! ^ k1, b[o + 6]! ^ k2, b[o + 7]! ^ k3, b[o + 8]! ^ k0, b[o + 9]! ^ k1, b[o + 10]! ^ k2, b[o + 11]! ^ k3, b[o + 12]! ^ k0, b[o + 13]! ^ k1, b[o + 14]! ^ k2, b[o + 15]! ^ k3);
  }
}

export function invalidUtf8(what: string): ParseFailed {
  return new ParseFailed(`${what} is not valid UTF-8 (RFC 6455 §8.1)`, 1007);
}

/** How many bytes a sequence starting with `lead` has (RFC 3629 §4); 0: `lead` cannot start one. */
export function sequenceLength(lead: number): number {
  if (lead < 0x80) return 1;
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;
}

/**
 * Validates and decodes one text message handed over in pieces. Fails (1007) on the first piece
 * containing a byte that cannot continue valid UTF-8, not at the end of the message: the WHATWG
 * decoder in fatal mode rejects a sequence as soon as a byte cannot extend it (e.g. E0 80, ED A0,
 * F4 90), and holds back only prefixes that may still become valid.
 */
export class Utf8StreamDecoder {
  private readonly decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  // Bytes of the unfinished code point the TextDecoder holds (0: at a code-point boundary),
  // and how long that code point is; tracked so short ASCII pieces can skip the TextDecoder.
  private held = 0;
  private heldNeeded = 0;

  /** Bytes of an unfinished code point carried over to the next `decode` call. */
  get pendingBytes(): number {
    return this.held;
  }

  /**
   * Decodes the next piece. `end` marks the last piece of the message: a code point left
   * unfinished there fails the message (1007). A code point split across pieces comes out
   * whole with the piece that finishes it.
   */
  decode(bytes: Uint8Array, end: boolean): string {
    if (this.held === 0) {
      const ascii = decodeShortAscii(bytes);
      if (ascii !== null) return ascii;
      if (end) {
        try {
          return this.decoder.decode(bytes);
        } catch {
          throw invalidUtf8("text message");
        }
      }
    }
    let text: string;
    try {
      text = this.decoder.decode(bytes, { stream: !end });
    } catch {
      this.held = 0;
      throw invalidUtf8("text message");
    }
    if (end) {
      this.held = 0;
    } else {
      this.trackHeldBytes(bytes);
    }
    return text;
  }

  /** Validates a piece, dropping its text (TextPieceCheck, for the extensions' failure ordering). */
  checkPiece(bytes: Uint8Array): void {
    this.decode(bytes, false);
  }

  /** Forgets any unfinished code point (the decoder is reused for the next message). */
  reset(): void {
    if (this.held !== 0) {
      // A non-streaming call flushes the TextDecoder's internal state.
      try {
        this.decoder.decode();
      } catch {
        // The held prefix was incomplete, which is what we are discarding.
      }
    }
    this.held = 0;
    this.heldNeeded = 0;
  }

  // `bytes` was accepted by the validator, so its tail is a valid prefix: find where the last
  // code point starts to know whether it is complete.
  private trackHeldBytes(bytes: Uint8Array): void {
    const length = bytes.length;
    const scan = Math.min(4, length);
    for (let back = 1; back <= scan; back++) {
      const byte = bytes[length - back]!;
      if (byte < 0x80) {
        this.held = 0;
        return;
      }
      if (byte >= 0xc0) {
        const needed = sequenceLength(byte);
        if (back < needed) {
          this.held = back;
          this.heldNeeded = needed;
        } else {
          this.held = 0;
        }
        return;
      }
    }
    // Only continuation bytes, fewer than four: they extend the code point held before.
    this.held += length;
    if (this.held >= this.heldNeeded) this.held = 0;
  }
}

const strictDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const encoder = new TextEncoder();

/** Whether `bytes` is valid UTF-8 from start to end, asking the fatal decoder (which builds a string). */
export function decodesAsUtf8(bytes: Uint8Array): boolean {
  try {
    strictDecoder.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** Decodes a complete UTF-8 byte sequence; fails (1007) on any invalid or unfinished sequence. */
export function decodeUtf8(bytes: Uint8Array, what = "text"): string {
  const ascii = decodeShortAscii(bytes);
  if (ascii !== null) return ascii;
  try {
    // Never called with { stream: true }, so the shared decoder carries no state between calls.
    return strictDecoder.decode(bytes);
  } catch {
    throw invalidUtf8(what);
  }
}

/** UTF-8 bytes of `text` (lone surrogates become U+FFFD, as TextEncoder does). */
export function encodeUtf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/**
 * Writes `text` as UTF-8 into `target` from `offset`, returning the bytes written (fewer than
 * `utf8ByteLength(text)` only if `target` is too short).
 */
export function encodeUtf8Into(text: string, target: Uint8Array, offset: number): number {
  return encoder.encodeInto(text, offset === 0 ? target : target.subarray(offset)).written;
}

/**
 * How many bytes `encodeUtf8(text)` produces, counted without encoding, so a frame can be
 * allocated at its exact size and the text encoded straight into it. A lone surrogate counts 3,
 * the size of the U+FFFD that TextEncoder writes for it.
 */
export function utf8ByteLength(text: string): number {
  const length = text.length;
  let bytes = length;
  for (let i = 0; i < length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) continue;
    if (unit < 0x800) {
      bytes += 1;
    } else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      // A surrogate pair: two UTF-16 units, four UTF-8 bytes.
      bytes += 2;
      i++;
    } else {
      bytes += 2;
    }
  }
  return bytes;
}

/**
 * The longest prefix of valid UTF-8 `bytes` that fits in `maxLength` bytes without splitting a
 * code point.
 */
export function truncateUtf8(bytes: Uint8Array, maxLength: number): Uint8Array {
  if (bytes.length <= maxLength) return bytes;
  let end = maxLength;
  // Back up over continuation bytes to the start of the code point that would be cut.
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end);
}
