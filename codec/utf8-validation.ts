/**
 * UTF-8 validation without decoding (RFC 6455 §8.1: a text message's payload must be valid
 * UTF-8, RFC 3629), for text handled as bytes: received with `textAs: "bytes"` and sent as a
 * `TextBytesMessage`, so that an application that forwards or echoes text never turns it into
 * a JS string and back.
 *
 * ```ts
 * function setUtf8Validator(isUtf8: ((bytes: Uint8Array) => boolean) | null): void; // plug a native one (null: the default)
 * function isUtf8(bytes: Uint8Array): boolean;          // the whole array is valid UTF-8
 * class Utf8Validator {                                 // one text message in pieces
 *   check(bytes: Uint8Array, end: boolean): boolean;    // valid so far (false: the message is invalid); remembers a split code point
 *   accepts(bytes: Uint8Array, end: boolean): boolean;  // what check would say, remembering nothing
 *   get splitCodePoint(): boolean;                      // the last piece ended inside a code point
 *   checkPiece(bytes: Uint8Array, end?: boolean): void; // check, throwing ParseFailed 1007 when invalid
 *   reset(): void;
 * }
 * ```
 *
 * The default validator asks the platform's TextDecoder in fatal mode (native code, but it
 * builds a string it then drops); a runtime with a validator of its own plugs it in (Node's
 * `buffer.isUtf8`, by wsmachine/node). Pieces are checked as they arrive, so invalid bytes fail
 * a message at once, not at its end: the bytes up to the last code point that may still be
 * unfinished are validated whole, and that unfinished prefix (at most three bytes) must be one
 * that a valid sequence can start with (RFC 3629 §4), else it fails now too.
 */

import { decodesAsUtf8, invalidUtf8, sequenceLength } from "./utf8.js";

let validate: (bytes: Uint8Array) => boolean = decodesAsUtf8;

/** Plug in a faster whole-array validator (must agree with RFC 3629); null restores the default. */
export function setUtf8Validator(isUtf8: ((bytes: Uint8Array) => boolean) | null): void {
  validate = isUtf8 ?? decodesAsUtf8;
}

/** Whether `bytes` is valid UTF-8 from start to end (RFC 3629). */
export function isUtf8(bytes: Uint8Array): boolean {
  return validate(bytes);
}

const EMPTY = new Uint8Array(0);

/** The allowed range of the byte after `lead` (RFC 3629 §4: no overlongs, surrogates or > U+10FFFF). */
function secondByteValid(lead: number, second: number): boolean {
  if (lead === 0xe0) return second >= 0xa0 && second <= 0xbf;
  if (lead === 0xed) return second >= 0x80 && second <= 0x9f;
  if (lead === 0xf0) return second >= 0x90 && second <= 0xbf;
  if (lead === 0xf4) return second >= 0x80 && second <= 0x8f;
  return second >= 0x80 && second <= 0xbf;
}

/**
 * The length of the unfinished code point `bytes` ends with (0–3), or -1 when its last bytes
 * cannot be the start of any valid sequence. Only the tail is looked at: the rest is for the
 * whole-array validator.
 */
function unfinishedTail(bytes: Uint8Array): number {
  const length = bytes.length;
  const scan = length < 3 ? length : 3;
  for (let back = 1; back <= scan; back++) {
    const byte = bytes[length - back]!;
    if (byte < 0x80) return 0;
    if (byte >= 0xc0) {
      const needed = sequenceLength(byte);
      if (needed === 0) return -1;
      if (back >= needed) return 0; // complete: the validator judges it
      if (back >= 2 && !secondByteValid(byte, bytes[length - back + 1]!)) return -1;
      for (let i = length - back + 2; i < length; i++) if ((bytes[i]! & 0xc0) !== 0x80) return -1;
      return back;
    }
  }
  return 0; // continuation bytes only: the validator sees whether something leads them
}

/** Validates one text message handed over in pieces; a code point may be split between pieces. */
export class Utf8Validator {
  /** The unfinished code point the last piece ended with (empty at a code-point boundary). */
  private held: Uint8Array = EMPTY;

  /**
   * Whether the message is valid so far (with `end`: valid and complete); remembers a split code
   * point. Refused bytes change nothing (a sender may go on with valid ones).
   */
  check(bytes: Uint8Array, end: boolean): boolean {
    const held = this.verdict(bytes, end);
    if (held === null) return false;
    this.held = held;
    return true;
  }

  /** The last piece checked ended inside a code point. */
  get splitCodePoint(): boolean {
    return this.held.length > 0;
  }

  /** What `check` would answer, remembering nothing (for questions that must not change state). */
  accepts(bytes: Uint8Array, end: boolean): boolean {
    return this.verdict(bytes, end) !== null;
  }

  /** `check` for a received piece: ParseFailed 1007 when the message is invalid (RFC 6455 §8.1). */
  checkPiece(bytes: Uint8Array, end = false): void {
    if (!this.check(bytes, end)) throw invalidUtf8("text message");
  }

  /** Forget a split code point (the next piece starts a message). */
  reset(): void {
    this.held = EMPTY;
  }

  /** The unfinished code point to hold after `bytes`, or null when the message is invalid. */
  private verdict(bytes: Uint8Array, end: boolean): Uint8Array | null {
    // The common case, a whole message in one piece: one call of the validator, no copy.
    if (this.held.length === 0 && end) return validate(bytes) ? EMPTY : null;
    let rest = bytes;
    if (this.held.length > 0) {
      // Finish the split code point in a small array of its own, then go on in `bytes`.
      const needed = sequenceLength(this.held[0]!) - this.held.length;
      const joined = new Uint8Array(this.held.length + Math.min(needed, bytes.length));
      joined.set(this.held);
      joined.set(bytes.subarray(0, joined.length - this.held.length), this.held.length);
      if (bytes.length < needed) return end ? null : held(joined);
      if (!validate(joined)) return null;
      rest = bytes.subarray(needed);
    }
    const tail = end ? 0 : unfinishedTail(rest);
    if (tail < 0) return null;
    const complete = tail === 0 ? rest : rest.subarray(0, rest.length - tail);
    if (complete.length > 0 && !validate(complete)) return null;
    return tail === 0 ? EMPTY : rest.slice(rest.length - tail);
  }
}

/** A code point still unfinished after a piece too short to finish it: held, if it can still become valid. */
function held(prefix: Uint8Array): Uint8Array | null {
  return unfinishedTail(prefix) === prefix.length ? prefix : null;
}
