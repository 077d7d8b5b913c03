/**
 * Close frame bodies (RFC 6455 §5.5.1, §7.4): a two-byte status code then a UTF-8 reason.
 *
 * Public interface:
 *
 * ```ts
 * const MAX_CLOSE_REASON_BYTES = 123;
 * function isValidCloseCode(code: number): boolean;             // may this code appear on the wire?
 * function parseClosePayload(payload: Uint8Array): ClosePayload; // throws ParseFailed (1002 / 1007)
 * function buildClosePayload(code?: number, reason?: string): Uint8Array; // throws LocalProtocolError
 * function fitCloseReason(reason: string): string;              // cut to 123 bytes of UTF-8
 * ```
 */
import { LocalProtocolError } from "./errors.js";
import { type ClosePayload, ParseFailed } from "./frame.js";
import { decodeUtf8, encodeUtf8, truncateUtf8, utf8ByteLength } from "./utf8.js";

/** A control payload is at most 125 bytes (RFC 6455 §5.5), two of which carry the code. */
export const MAX_CLOSE_REASON_BYTES = 123;

const NO_STATUS_RECEIVED: ClosePayload = Object.freeze({ code: 1005, reason: "" });

/**
 * Whether `code` may be sent in a close frame (RFC 6455 §7.4). 1000–1003 and 1007–1014 are
 * the codes registered with IANA for the protocol's use; 1004 is reserved; 1005, 1006 and
 * 1015 exist only to report what happened locally and "MUST NOT be set as a status code in a
 * Close control frame" (§7.4.1); the rest of 1000–2999 is unassigned, and §7.4.2 only opens
 * 3000–3999 (registered) and 4000–4999 (private use).
 */
export function isValidCloseCode(code: number): boolean {
  return (
    (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) ||
    (code >= 3000 && code <= 4999)
  );
}

/** Refuses a code that may not be sent, saying why: not a number (plain JS), or not allowed. */
function checkCloseCode(code: unknown): void {
  if (typeof code !== "number") {
    throw new LocalProtocolError(
      `close status code must be a number, not the ${typeof code} ${JSON.stringify(code)}: ` +
        "e.g. new CloseConnection({ code: 1000 }) (RFC 6455 §7.4)",
    );
  }
  if (!Number.isInteger(code) || !isValidCloseCode(code)) {
    throw new LocalProtocolError(
      `close status code ${code} may not be sent: use 1000–1003, 1007–1014 or 3000–4999 (RFC 6455 §7.4)`,
    );
  }
}

/**
 * `reason`, cut at a code-point boundary to the 123 bytes of UTF-8 a close frame carries. For
 * echoing a close: a failure's reason is a diagnostic of ours that may be longer.
 */
export function fitCloseReason(reason: string): string {
  // Three bytes per UTF-16 unit at most: a short string needs no encoding to know it fits.
  if (reason.length * 3 <= MAX_CLOSE_REASON_BYTES) return reason;
  const bytes = encodeUtf8(reason);
  if (bytes.length <= MAX_CLOSE_REASON_BYTES) return reason;
  return decodeUtf8(truncateUtf8(bytes, MAX_CLOSE_REASON_BYTES), "close reason");
}

/** Reads a received close frame's body (already unmasked). */
export function parseClosePayload(payload: Uint8Array): ClosePayload {
  if (payload.length === 0) return NO_STATUS_RECEIVED;
  if (payload.length === 1) {
    throw new ParseFailed("close frame body of 1 byte: a body starts with a 2-byte status code (RFC 6455 §5.5.1)", 1002);
  }
  const code = (payload[0]! << 8) | payload[1]!;
  if (!isValidCloseCode(code)) {
    throw new ParseFailed(`close status code ${code} is not allowed on the wire (RFC 6455 §7.4)`, 1002);
  }
  const reason = payload.length === 2 ? "" : decodeUtf8(payload.subarray(2), "close reason");
  return { code, reason };
}

/**
 * Throws the LocalProtocolError `buildClosePayload(code, reason)` would throw, building
 * nothing: what the statechart's guard asks before a close is sent.
 */
export function checkClosePayload(code?: number, reason?: string): void {
  if (code === undefined) {
    if (reason) {
      throw new LocalProtocolError("a close reason needs a status code: the body starts with the code (RFC 6455 §5.5.1)");
    }
    return;
  }
  checkCloseCode(code);
  const reasonLength = reason ? utf8ByteLength(reason) : 0;
  if (reasonLength > MAX_CLOSE_REASON_BYTES) {
    throw new LocalProtocolError(
      `close reason is ${reasonLength} bytes of UTF-8, more than the ${MAX_CLOSE_REASON_BYTES} a close frame carries ` +
        "(RFC 6455 §5.5: a control frame's payload is at most 125 bytes, 2 of them the code): shorten it",
    );
  }
}

/**
 * The body of a close frame to send. No code gives an empty body (RFC 6455 §5.5.1 allows it).
 * A reason longer than 123 bytes of UTF-8 is refused rather than cut, so that what the caller
 * wrote is what the peer reads; `CloseConnection.response()` cuts the reason it echoes, since a
 * failure's reason is ours, not the caller's (see `fitCloseReason`).
 */
export function buildClosePayload(code?: number, reason?: string): Uint8Array {
  checkClosePayload(code, reason);
  if (code === undefined) return new Uint8Array(0);
  const reasonBytes = reason ? encodeUtf8(reason) : null;
  const payload = new Uint8Array(2 + (reasonBytes?.length ?? 0));
  payload[0] = code >>> 8;
  payload[1] = code & 0xff;
  if (reasonBytes !== null) payload.set(reasonBytes, 2);
  return payload;
}
