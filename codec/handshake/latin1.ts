/**
 * ISO-8859-1 (latin1) conversions between bytes and strings: each byte is one char U+0000–U+00FF,
 * so header bytes round-trip exactly (the API's Headers are latin1 strings).
 *
 * Interface:
 * ```ts
 * decodeLatin1(bytes: Uint8Array, start?: number, end?: number): string
 * encodeLatin1(s: string): Uint8Array   // throws RangeError on a char above U+00FF; a view into a shared slab
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

/**
 * Any char outside U+0000–U+00FF: the windows-1252 decoding differs from latin1 there. A single
 * character class, so one linear native pass (much faster than a charCodeAt loop).
 */
const WIDE_CHAR = /[^\x00-\xff]/;
function hasWideChar(s: string): boolean {
  return WIDE_CHAR.test(s);
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

/**
 * Output heads are carved from shared 16 KiB slabs: allocating a Uint8Array over 64 bytes costs
 * V8 far more (an off-heap backing store) than encoding a whole head. Every region is handed out
 * once and never reused, so the returned views are the caller's to keep; a view keeps its slab
 * alive, which bounds the waste to 16 KiB per retained head.
 */
const SLAB_SIZE = 16 * 1024;
const MAX_POOLED = 4 * 1024;
let slab = new Uint8Array(SLAB_SIZE);
let slabOffset = 0;

/** A fresh (zeroed, never shared) Uint8Array of `n` bytes for an encoded head, carved from a slab when small. */
function slabBytes(n: number): Uint8Array {
  if (n > MAX_POOLED) return new Uint8Array(n);
  if (slabOffset + n > SLAB_SIZE) {
    slab = new Uint8Array(SLAB_SIZE);
    slabOffset = 0;
  }
  const view = new Uint8Array(slab.buffer, slabOffset, n);
  slabOffset = (slabOffset + n + 7) & ~7;
  return view;
}

const ENCODER = new TextEncoder();

/**
 * Encode a latin1 string (each char ≤ U+00FF) as bytes. ASCII text (the usual head) goes through
 * TextEncoder.encodeInto, where UTF-8 and latin1 agree; anything else through a plain loop.
 * Throws RangeError on a char above U+00FF.
 */
export function encodeLatin1(s: string): Uint8Array {
  const n = s.length;
  const out = slabBytes(n);
  const r = ENCODER.encodeInto(s, out);
  if (r.read === n && r.written === n) return out;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff) throw new RangeError(`character U+${c.toString(16).padStart(4, "0")} is not latin1`);
    out[i] = c;
  }
  return out;
}
