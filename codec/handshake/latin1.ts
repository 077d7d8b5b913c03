/**
 * ISO-8859-1 (latin1) conversions between bytes and strings: each byte is one char U+0000–U+00FF,
 * so header bytes round-trip exactly (the API's Headers are latin1 strings).
 *
 * Interface:
 * ```ts
 * decodeLatin1(bytes: Uint8Array, start?: number, end?: number): string
 * encodeLatin1(s: string): Uint8Array   // throws RangeError on a char above U+00FF
 * ```
 *
 * `TextDecoder("latin1")` is in fact windows-1252 (WHATWG Encoding), which maps 0x80–0x9F to
 * other code points; it is used for speed, and the rare string that contains such a byte is
 * decoded again char by char.
 */

let decoder: TextDecoder | null = null;
try {
  decoder = new TextDecoder("latin1");
} catch {
  decoder = null;
}

const ENCODER = new TextEncoder();

/** Any char outside U+0000–U+00FF: the windows-1252 decoding differs from latin1 there. */
function hasWideChar(s: string): boolean {
  for (let i = 0, n = s.length; i < n; i++) if (s.charCodeAt(i) > 0xff) return true;
  return false;
}

function decodeSlow(bytes: Uint8Array): string {
  const parts: string[] = [];
  const step = 4096;
  for (let i = 0; i < bytes.length; i += step) {
    parts.push(String.fromCharCode.apply(null, bytes.subarray(i, i + step) as unknown as number[]));
  }
  return parts.join("");
}

/** Decode `bytes[start, end)` as latin1. */
export function decodeLatin1(bytes: Uint8Array, start = 0, end = bytes.length): string {
  const view = start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end);
  if (decoder !== null) {
    const s = decoder.decode(view);
    if (!hasWideChar(s)) return s;
  }
  return decodeSlow(view);
}

/** Encode a latin1 string (each char ≤ U+00FF) as bytes. */
export function encodeLatin1(s: string): Uint8Array {
  const n = s.length;
  let ascii = true;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) {
      if (c > 0xff) throw new RangeError(`character U+${c.toString(16).padStart(4, "0")} is not latin1`);
      ascii = false;
    }
  }
  if (ascii) return ENCODER.encode(s);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = s.charCodeAt(i);
  return out;
}
