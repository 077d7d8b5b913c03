/**
 * The handshake's nonce and accept token (RFC 6455 §4.1, §4.2.2), as wsproto's
 * `generate_nonce` / `generate_accept_token`.
 *
 * Interface:
 * ```ts
 * WEBSOCKET_GUID: string                       // "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
 * generateNonce(): string                      // base64 of 16 random bytes (crypto.getRandomValues)
 * generateAcceptToken(key: string): string     // base64(SHA-1(key + GUID)); key as latin1 bytes
 * isValidKey(key: string): boolean             // base64 text of exactly 16 bytes (24 chars, "==")
 * ```
 */
import { sha1 } from "@noble/hashes/legacy.js";
import { LocalProtocolError } from "../../src/errors.js";

export const WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

const B64 = new Uint8Array(256);
for (const ch of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") B64[ch.charCodeAt(0)] = 1;

function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]!);
  return btoa(s);
}

/** A fresh Sec-WebSocket-Key: base64 of 16 random bytes. */
export function generateNonce(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return toBase64(bytes);
}

/** Sec-WebSocket-Accept for `key`: base64(SHA-1(key ‖ GUID)). */
export function generateAcceptToken(key: string): string {
  const text = key + WEBSOCKET_GUID;
  const n = text.length;
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c > 0xff) throw new LocalProtocolError("Sec-WebSocket-Key must be a latin1 (in practice ASCII) string");
    bytes[i] = c;
  }
  return toBase64(sha1(bytes));
}

/**
 * Whether `key` is base64 of exactly 16 bytes (RFC 6455 §4.1 item 7, §4.2.1 item 5): 22
 * alphabet chars then "==". Non-zero padding bits are tolerated (they still decode to 16 bytes).
 */
export function isValidKey(key: string): boolean {
  if (key.length !== 24 || key.charCodeAt(22) !== 0x3d || key.charCodeAt(23) !== 0x3d) return false;
  for (let i = 0; i < 22; i++) {
    const c = key.charCodeAt(i);
    if (c > 0xff || B64[c] === 0) return false;
  }
  return true;
}
