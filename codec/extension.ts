/**
 * The interface every WebSocket extension implements (RFC 6455 §9), shaped after wsproto's
 * `wsproto.extensions.Extension`: negotiation in the opening handshake, then per-frame hooks
 * that the frame decoder and encoder call once the extension is enabled.
 *
 * The hooks are synchronous because the core is Sans-I/O: bytes in, bytes out, no callbacks.
 */
import type { Opcode, RsvBits } from "./frame.js";

export interface Extension {
  /** The extension token as it appears in Sec-WebSocket-Extensions, e.g. "permessage-deflate". */
  readonly name: string;

  /** True once negotiation succeeded (server: `accept` returned parameters; client: `finalize` ran). */
  enabled(): boolean;

  /** Client: the parameters to offer (without the name), or `true` to offer the bare name. */
  offer(): string | boolean;

  /**
   * Server: given one offer as it appeared in the request's Sec-WebSocket-Extensions list (one
   * comma-separated element, name included, e.g. "permessage-deflate; client_max_window_bits"),
   * the parameters to answer with (without the name), `true` for the bare name, or null/false to
   * decline this offer. As wsproto, the handshake calls it for each offer naming this extension,
   * in order, until one is accepted.
   */
  accept(offer: string): string | boolean | null;

  /**
   * Client: apply the server's response element (name included, as `accept`'s argument),
   * throwing an Error whose message says what was wrong if it does not fit what was offered.
   */
  finalize(offer: string): void;

  /** The RSV bits this extension may set once enabled (permessage-deflate: RSV1, RFC 7692 §6). */
  readonly rsvBits: RsvBits;

  /**
   * A frame header arrived. Returns which of the set RSV bits this extension accounts for; the
   * decoder fails the connection (1002) for any set bit no extension accounts for. Throws
   * `ParseFailed` if the header is invalid for this extension (e.g. RSV1 on a control frame).
   * `opcode` is the frame's own opcode (CONTINUATION for continuation frames).
   */
  frameInboundHeader(opcode: Opcode, rsv: RsvBits, payloadLength: number): RsvBits;

  /**
   * Payload bytes of a data frame, as they arrive (unmasked). Returns the bytes to deliver
   * (e.g. inflated), which must be at most `budget` bytes: when the output would exceed it, throw
   * `ParseFailed` with code 1009 without producing the excess (decompression-bomb protection).
   * Throws `ParseFailed` with 1007 for a corrupt stream. A failure after some output was produced
   * carries that output as `payloadBefore`, so that it is checked before the failure is reported.
   */
  frameInboundPayloadData(data: Uint8Array, budget: number): Uint8Array;

  /**
   * The current data frame ended (`fin`: it was the message's last). Returns any remaining bytes
   * to deliver (same `budget` rule), or null.
   */
  frameInboundComplete(fin: boolean, budget: number): Uint8Array | null;

  /**
   * An outbound frame is about to be encoded. Returns the RSV bits and payload to put on the
   * wire. Called for data frames only (control frames are never transformed, RFC 7692 §6.1).
   * `opcode` is the frame's own opcode (CONTINUATION after the first frame of a message).
   */
  frameOutbound(opcode: Opcode, rsv: RsvBits, data: Uint8Array, fin: boolean): { rsv: RsvBits; data: Uint8Array };
}
