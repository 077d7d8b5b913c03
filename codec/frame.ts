/**
 * Vocabulary of the framing layer (RFC 6455 §5.2), shared by the decoder, the encoder and the
 * extensions' per-frame hooks.
 */

/** Frame opcodes defined by RFC 6455 §5.2; every other value is reserved (§5.2: fail, 1002). */
export const Opcode = Object.freeze({
  CONTINUATION: 0x0,
  TEXT: 0x1,
  BINARY: 0x2,
  CLOSE: 0x8,
  PING: 0x9,
  PONG: 0xa,
} as const);
export type Opcode = (typeof Opcode)[keyof typeof Opcode];

/** Control frames are those whose opcode has the high bit set (RFC 6455 §5.5). */
export function isControlOpcode(opcode: number): boolean {
  return (opcode & 0x8) !== 0;
}

/** The three reserved bits of a frame header (RFC 6455 §5.2), which extensions may claim. */
export interface RsvBits {
  readonly rsv1: boolean;
  readonly rsv2: boolean;
  readonly rsv3: boolean;
}

export const NO_RSV_BITS: RsvBits = Object.freeze({ rsv1: false, rsv2: false, rsv3: false });

/**
 * The peer broke the protocol: the connection must be failed with `code` (RFC 6455 §7.1.7).
 * Raised by the decoder and by extensions' inbound hooks; the connection turns it into a
 * `CloseConnection` event, never into an exception out of `receiveData`/`events()`.
 */
export class ParseFailed extends Error {
  override name = "ParseFailed";
  /** The close code to fail the connection with: 1002, 1007 or 1009 (RFC 6455 §7.4.1). */
  readonly code: number;
  /**
   * Set by an extension's inbound hook that failed after producing payload (an inflater that
   * hit corrupt data or the size limit part-way): the bytes it produced before failing, as
   * produced (not joined: up to maxMessageSize of them). The decoder checks them first (a text
   * message's UTF-8), so that the first problem in stream order is the one reported, however
   * the transport chunked the message.
   */
  readonly payloadBefore: readonly Uint8Array[];

  constructor(message: string, code = 1002, payloadBefore: readonly Uint8Array[] = []) {
    super(message);
    this.code = code;
    this.payloadBefore = payloadBefore;
  }
}

/** A received close frame's payload (RFC 6455 §5.5.1): 1005 when the frame had no body. */
export interface ClosePayload {
  readonly code: number;
  readonly reason: string;
}

/**
 * One piece of received payload, as the decoder hands it out: a whole frame, or the part of a
 * frame that has arrived so far (`frameFinished` false).
 *
 * - `opcode` is the opcode of the *message* for data frames (TEXT or BINARY, also on
 *   continuation frames), or the control opcode.
 * - `payload` is a string for TEXT (UTF-8 validated and decoded; a code point split across
 *   chunks is carried to the next chunk) — with the decoder's `textAsBytes`, the validated bytes
 *   (a code point may then be split between pieces) — a `ClosePayload` for CLOSE, bytes otherwise.
 * - Control frames are always delivered whole (they are at most 125 bytes).
 */
export interface Frame {
  readonly opcode: Opcode;
  readonly payload: Uint8Array | string | ClosePayload;
  readonly frameFinished: boolean;
  readonly messageFinished: boolean;
}
