/**
 * HTTP field grammar helpers (RFC 9110 §5.5, §5.6): character classes as 256-entry lookup
 * tables, token / field-value checks, and comma-separated list splitting that honours
 * quoted strings. Every check is a single loop over the string: no regular expressions, so no
 * backtracking and linear time on any input.
 *
 * Interface:
 * ```ts
 * TCHAR, FIELD_CONTENT, QDTEXT, QUOTED_PAIR_CHAR: Uint8Array  // 1 where the byte is in the class
 * isToken(s: string): boolean                 // 1*tchar
 * isFieldValue(s: string): boolean            // *( field-vchar / SP / HTAB ), no leading/trailing SP/HTAB
 * isFieldContent(s: string): boolean          // only field-vchar / SP / HTAB chars (no trim rule)
 * trimOWS(s: string): string                  // strip SP / HTAB at both ends
 * splitList(value: string): string[] | null   // #element, trimmed, empty elements dropped;
 *                                             //   null when a quoted-string is unterminated
 * appendList(value: string, out: string[]): boolean  // the same, appending; false if unterminated
 * combinedList(headers, lowerName): string[] | null   // the list from every field named lowerName
 * hasToken(list, lowerToken): boolean         // ASCII case-insensitive membership
 * isExtensionElement(element: string): boolean // RFC 6455 §9.1 extension grammar for one element
 * extensionName(element: string): string      // the extension-token before the first ";", trimmed
 * toLowerAscii(s: string): string             // ASCII-only lower-casing
 * ```
 *
 * Differences from wsproto's `split_comma_header` (README, Differences from wsproto #10, #14): commas inside a
 * quoted-string do not split, and empty elements (",,", leading/trailing commas) are dropped.
 * Elements keep their case: callers compare case-insensitively where the grammar says so.
 */
import type { Headers } from "./events.js";

function table(pred: (c: number) => boolean): Uint8Array {
  const t = new Uint8Array(256);
  for (let c = 0; c < 256; c++) t[c] = pred(c) ? 1 : 0;
  return t;
}

const TCHAR_SPECIALS = "!#$%&'*+-.^_`|~";

function isAlnum(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/** tchar (RFC 9110 §5.6.2). */
export const TCHAR: Uint8Array = table((c) => isAlnum(c) || TCHAR_SPECIALS.includes(String.fromCharCode(c)));

/** field-vchar / SP / HTAB: any byte allowed inside a field value (RFC 9110 §5.5). */
export const FIELD_CONTENT: Uint8Array = table((c) => c === 0x09 || c === 0x20 || (c >= 0x21 && c <= 0x7e) || c >= 0x80);

/** qdtext (RFC 9110 §5.6.4). */
export const QDTEXT: Uint8Array = table(
  (c) => c === 0x09 || c === 0x20 || c === 0x21 || (c >= 0x23 && c <= 0x5b) || (c >= 0x5d && c <= 0x7e) || c >= 0x80,
);

/** The character after a backslash in a quoted-pair (RFC 9110 §5.6.4). */
export const QUOTED_PAIR_CHAR: Uint8Array = FIELD_CONTENT;

const SP = 0x20;
const HTAB = 0x09;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const SEMICOLON = 0x3b;
const EQUALS = 0x3d;

/** `1*tchar`. */
export function isToken(s: string): boolean {
  const n = s.length;
  if (n === 0) return false;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff || TCHAR[c] === 0) return false;
  }
  return true;
}

/** Only field-vchar / SP / HTAB characters (each ≤ U+00FF); empty allowed. */
export function isFieldContent(s: string): boolean {
  for (let i = 0, n = s.length; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff || FIELD_CONTENT[c] === 0) return false;
  }
  return true;
}

/** A field value as sent on the wire: field content with no leading or trailing SP / HTAB. */
export function isFieldValue(s: string): boolean {
  const n = s.length;
  if (n === 0) return true;
  const first = s.charCodeAt(0);
  const last = s.charCodeAt(n - 1);
  if (first === SP || first === HTAB || last === SP || last === HTAB) return false;
  return isFieldContent(s);
}

/** Strip optional whitespace (SP / HTAB) at both ends. */
export function trimOWS(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b) {
    const c = s.charCodeAt(a);
    if (c !== SP && c !== HTAB) break;
    a++;
  }
  while (b > a) {
    const c = s.charCodeAt(b - 1);
    if (c !== SP && c !== HTAB) break;
    b--;
  }
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

/** ASCII lower-casing (HTTP tokens are ASCII; Unicode case mapping must not apply). */
export function toLowerAscii(s: string): string {
  const n = s.length;
  let upper = false;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return lowerAsciiSlow(s);
    if (c >= 0x41 && c <= 0x5a) upper = true;
  }
  // Pure ASCII: the native mapping is exactly the ASCII one.
  return upper ? s.toLowerCase() : s;
}

function lowerAsciiSlow(s: string): string {
  const parts: string[] = [];
  for (let i = 0, n = s.length; i < n; i++) {
    const c = s.charCodeAt(i);
    parts.push(c >= 0x41 && c <= 0x5a ? String.fromCharCode(c + 0x20) : s.charAt(i));
  }
  return parts.join("");
}

/**
 * Split a comma-separated list (RFC 9110 §5.6.1) into trimmed, non-empty elements. Commas inside
 * a quoted-string (with its quoted-pairs) do not separate elements. Returns null when a
 * quoted-string is not terminated.
 */
export function splitList(value: string): string[] | null {
  const out: string[] = [];
  return appendList(value, out) ? out : null;
}

/**
 * `splitList` appending to `out`: returns false (with `out` possibly extended) when a
 * quoted-string is not terminated.
 */
export function appendList(value: string, out: string[]): boolean {
  const n = value.length;
  let start = 0;
  let i = 0;
  while (i < n) {
    const c = value.charCodeAt(i);
    if (c === COMMA) {
      pushElement(value, start, i, out);
      start = ++i;
    } else if (c === DQUOTE) {
      i++;
      for (;;) {
        if (i >= n) return false;
        const d = value.charCodeAt(i);
        if (d === DQUOTE) {
          i++;
          break;
        }
        i += d === BACKSLASH ? 2 : 1;
      }
    } else {
      i++;
    }
  }
  pushElement(value, start, n, out);
  return true;
}

function pushElement(value: string, a: number, b: number, out: string[]): void {
  while (a < b) {
    const c = value.charCodeAt(a);
    if (c !== SP && c !== HTAB) break;
    a++;
  }
  while (b > a) {
    const c = value.charCodeAt(b - 1);
    if (c !== SP && c !== HTAB) break;
    b--;
  }
  if (b > a) out.push(value.slice(a, b));
}

/**
 * The combined list of every field named `lowerName` (RFC 9110 §5.3: repeated fields are one
 * comma-joined list), or null if one of them has an unterminated quoted-string. Header names
 * are compared ASCII case-insensitively.
 */
export function combinedList(headers: Headers, lowerName: string): string[] | null {
  const out: string[] = [];
  for (const [name, value] of headers) {
    if (name === lowerName || toLowerAscii(name) === lowerName) {
      if (!appendList(value, out)) return null;
    }
  }
  return out;
}

/** Whether `list` contains `lowerToken`, compared ASCII case-insensitively. */
export function hasToken(list: readonly string[], lowerToken: string): boolean {
  for (const element of list) {
    if (element.length === lowerToken.length && toLowerAscii(element) === lowerToken) return true;
  }
  return false;
}

/** The extension-token of one Sec-WebSocket-Extensions element: the text before ";", trimmed. */
export function extensionName(element: string): string {
  const semi = element.indexOf(";");
  return trimOWS(semi === -1 ? element : element.slice(0, semi));
}

/**
 * Whether `element` is one well-formed Sec-WebSocket-Extensions list element (RFC 6455 §9.1):
 * `extension-token *( OWS ";" OWS extension-param )`, `extension-param = token [ OWS "=" OWS
 * ( token / quoted-string ) ]`. The meaning of the parameters is the extension's business.
 */
export function isExtensionElement(element: string): boolean {
  const n = element.length;
  let i = skipOWS(element, 0);
  const nameEnd = scanToken(element, i);
  if (nameEnd === i) return false;
  i = skipOWS(element, nameEnd);
  while (i < n) {
    if (element.charCodeAt(i) !== SEMICOLON) return false;
    i = skipOWS(element, i + 1);
    const paramEnd = scanToken(element, i);
    if (paramEnd === i) return false;
    i = skipOWS(element, paramEnd);
    if (i < n && element.charCodeAt(i) === EQUALS) {
      i = skipOWS(element, i + 1);
      if (i < n && element.charCodeAt(i) === DQUOTE) {
        const end = scanQuoted(element, i);
        if (end < 0) return false;
        i = end;
      } else {
        const valueEnd = scanToken(element, i);
        if (valueEnd === i) return false;
        i = valueEnd;
      }
      i = skipOWS(element, i);
    }
  }
  return true;
}

function skipOWS(s: string, i: number): number {
  const n = s.length;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c !== SP && c !== HTAB) break;
    i++;
  }
  return i;
}

function scanToken(s: string, i: number): number {
  const n = s.length;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c > 0xff || TCHAR[c] === 0) break;
    i++;
  }
  return i;
}

/** `i` at the opening DQUOTE; returns the index after the closing one, or -1 if malformed. */
function scanQuoted(s: string, i: number): number {
  const n = s.length;
  i++;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c > 0xff) return -1;
    if (c === DQUOTE) return i + 1;
    if (c === BACKSLASH) {
      if (i + 1 >= n) return -1;
      const d = s.charCodeAt(i + 1);
      if (d > 0xff || QUOTED_PAIR_CHAR[d] === 0) return -1;
      i += 2;
    } else {
      if (QDTEXT[c] === 0) return -1;
      i++;
    }
  }
  return -1;
}
