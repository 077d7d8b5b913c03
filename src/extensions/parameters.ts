/**
 * Parsing one element of a Sec-WebSocket-Extensions list (RFC 6455 §9.1), as the handshake hands
 * it to an extension's `accept`/`finalize`: the extension token, then `;`-separated parameters.
 *
 * ```abnf
 * extension       = extension-token *( ";" extension-param )
 * extension-token = token
 * extension-param = token [ "=" ( token / quoted-string ) ]
 *     ; a quoted-string value, once unescaped, MUST conform to token
 * ```
 *
 * Optional whitespace (SP / HTAB) is allowed around `;` and `=` and at both ends. Parameter
 * names are compared ASCII case-insensitively and returned lower-cased; quoted values are
 * unescaped; a parameter named twice is an error (RFC 7692 §5: "multiple extension parameters
 * with the same name"). The parser is one forward scan over the string with lookup tables: no
 * regular expressions, no backtracking, linear time on any input.
 *
 * Interface:
 * ```ts
 * parseExtensionElement(element: string): ParsedExtension
 *   // { ok: true, name, params: Map<lower-cased name, value | null> } or { ok: false, error }
 * formatParameters(params: Iterable<[string, string | number | null]>): string
 *   // "a; b=10" (values must be tokens; no quoting is needed for the values we write)
 * ```
 */

/** tchar (RFC 9110 §5.6.2): 1 where the ASCII code is a token character. */
const TCHAR = new Uint8Array(128);
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1;
for (const ch of "!#$%&'*+-.^_`|~") TCHAR[ch.charCodeAt(0)] = 1;

const SP = 0x20;
const HTAB = 0x09;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;
const SEMICOLON = 0x3b;
const EQUALS = 0x3d;

function isTchar(c: number): boolean {
  return c < 128 && TCHAR[c] === 1;
}

/** qdtext (RFC 9110 §5.6.4): HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text (%x80-FF). */
function isQdtext(c: number): boolean {
  return c === HTAB || c === SP || c === 0x21 || (c >= 0x23 && c <= 0x5b) || (c >= 0x5d && c <= 0x7e) || (c >= 0x80 && c <= 0xff);
}

/** The character after a backslash in a quoted-pair: HTAB / SP / VCHAR / obs-text. */
function isQuotedPairChar(c: number): boolean {
  return c === HTAB || c === SP || (c >= 0x21 && c <= 0x7e) || (c >= 0x80 && c <= 0xff);
}

/** Whether `s` is a non-empty token. */
export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) if (!isTchar(s.charCodeAt(i))) return false;
  return true;
}

/** ASCII-only lower-casing (Unicode case mapping must not apply to protocol tokens). */
function lowerAscii(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out += c >= 0x41 && c <= 0x5a ? String.fromCharCode(c + 0x20) : s[i];
  }
  return out;
}

export type ParsedExtension =
  | {
      readonly ok: true;
      /** The extension token as written (compare it case-insensitively). */
      readonly name: string;
      /** Parameters in order of appearance: lower-cased name → unescaped value, or null when it had none. */
      readonly params: ReadonlyMap<string, string | null>;
    }
  | { readonly ok: false; readonly error: string };

function fail(error: string): ParsedExtension {
  return { ok: false, error };
}

/** Parse one extension element, e.g. `permessage-deflate; client_max_window_bits="10"`. */
export function parseExtensionElement(element: string): ParsedExtension {
  const n = element.length;
  let i = 0;
  const skipOWS = (): void => {
    while (i < n) {
      const c = element.charCodeAt(i);
      if (c !== SP && c !== HTAB) break;
      i++;
    }
  };
  const readToken = (): string => {
    const start = i;
    while (i < n && isTchar(element.charCodeAt(i))) i++;
    return element.slice(start, i);
  };

  skipOWS();
  const name = readToken();
  if (name.length === 0) return fail("the extension name is missing or is not a token");
  const params = new Map<string, string | null>();
  skipOWS();
  while (i < n) {
    if (element.charCodeAt(i) !== SEMICOLON) {
      return fail(`unexpected character ${JSON.stringify(element[i])} at offset ${i} (expected ";")`);
    }
    i++;
    skipOWS();
    const rawName = readToken();
    if (rawName.length === 0) {
      return fail(i < n ? `a parameter name is missing or is not a token at offset ${i}` : "empty parameter after the last \";\"");
    }
    const paramName = lowerAscii(rawName);
    skipOWS();
    let value: string | null = null;
    if (i < n && element.charCodeAt(i) === EQUALS) {
      i++;
      skipOWS();
      if (i < n && element.charCodeAt(i) === DQUOTE) {
        i++;
        let unescaped = "";
        let closed = false;
        while (i < n) {
          const c = element.charCodeAt(i);
          if (c === DQUOTE) {
            closed = true;
            i++;
            break;
          }
          if (c === BACKSLASH) {
            if (i + 1 >= n || !isQuotedPairChar(element.charCodeAt(i + 1))) {
              return fail(`invalid escape in the quoted value of parameter "${paramName}"`);
            }
            unescaped += element[i + 1];
            i += 2;
            continue;
          }
          if (!isQdtext(c)) return fail(`invalid character in the quoted value of parameter "${paramName}"`);
          unescaped += element[i];
          i++;
        }
        if (!closed) return fail(`unterminated quoted value of parameter "${paramName}"`);
        // RFC 6455 §9.1: the unescaped quoted-string must itself be a token.
        if (!isToken(unescaped)) return fail(`the quoted value of parameter "${paramName}" is not a token once unquoted`);
        value = unescaped;
      } else {
        value = readToken();
        if (value.length === 0) return fail(`parameter "${paramName}" has "=" but no value`);
      }
      skipOWS();
    }
    if (params.has(paramName)) return fail(`duplicate parameter "${paramName}"`);
    params.set(paramName, value);
  }
  return { ok: true, name, params };
}

/** Join parameters as `a; b=10`. Values are written as tokens (callers only write tokens). */
export function formatParameters(params: Iterable<readonly [string, string | number | null]>): string {
  const parts: string[] = [];
  for (const [name, value] of params) parts.push(value === null ? name : `${name}=${value}`);
  return parts.join("; ");
}
