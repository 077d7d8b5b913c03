/**
 * Incremental, bounded, strict parser for one HTTP/1.1 message head (RFC 9112 §2–§5): the start
 * line and the header section, up to and including the empty line. Bodies are not its business
 * (see body.ts); the bytes after the head are handed back untouched by `takeRest()`.
 *
 * Interface:
 * ```ts
 * interface HttpRequestHead  { kind: "request";  method: string; target: string;
 *                              versionMajor: number; versionMinor: number; headers: Headers; byteLength: number }
 * interface HttpResponseHead { kind: "response"; statusCode: number; reason: string;
 *                              versionMajor: number; versionMinor: number; headers: Headers; byteLength: number }
 * new HttpHeadParser({ kind: "request" | "response", maxHeadSize?: number, maxHeaders?: number })
 *   push(chunk: Uint8Array): HttpHead | null  // null: need more bytes. Any chunking, byte by byte included.
 *   takeRest(): Uint8Array                    // after a head: the bytes that followed it in the last chunk
 *   readonly complete: boolean
 *   readonly informationalSkipped: number     // response parser: 1xx heads (other than 101) skipped
 * DEFAULT_MAX_HEAD_SIZE = 16384, DEFAULT_MAX_HEADERS = 100
 * ```
 *
 * - `headers` keeps every field line in order; names are lower-cased (as h11, so as wsproto's
 *   events), values are latin1 strings with surrounding whitespace removed.
 * - A response parser skips 1xx heads other than 101 (RFC 9110 §15.2, README, Differences from wsproto #5) and
 *   returns the next head; a 101 is returned, since after it come WebSocket frames.
 * - Empty lines before the start line are ignored (RFC 9112 §2.2).
 * - Refused (RemoteProtocolError): bare CR or bare LF anywhere, obs-fold (a field line starting
 *   with SP/HTAB), whitespace between a field name and its colon, any char outside the grammar
 *   (RFC 9110 tchar for methods and names; field-vchar/SP/HTAB for values; VCHAR for the
 *   target), a version other than `HTTP/<digit>.<digit>`, a head over `maxHeadSize` bytes
 *   (counted from its first byte, leading empty lines included, up to and including its final
 *   CRLF CRLF; checked as bytes arrive, so no more than `maxHeadSize` bytes are ever buffered or
 *   scanned), or over `maxHeaders` field lines. The character checks are lookup-table loops and
 *   single-character-class searches, which cannot backtrack: every check is linear.
 * - `push` after a head was returned throws an Error (a caller bug): bytes after the head are
 *   frames or a body, not HTTP.
 * - Errors carry an event hint on a request parser (server side): RejectConnection 431 for a
 *   head or header count over its limit, 400 otherwise; a response parser's errors have none.
 * - Bytes are only copied when a head spans several chunks; `takeRest()` is a view into the last
 *   chunk pushed (not a copy).
 */
import type { Headers } from "../events.js";
import { RejectConnection } from "../events.js";
import { RemoteProtocolError } from "../errors.js";
import { TCHAR } from "../header-lists.js";
import { decodeLatin1 } from "./latin1.js";

export const DEFAULT_MAX_HEAD_SIZE = 16 * 1024;
export const DEFAULT_MAX_HEADERS = 100;

export interface HttpRequestHead {
  readonly kind: "request";
  readonly method: string;
  readonly target: string;
  readonly versionMajor: number;
  readonly versionMinor: number;
  /** Field lines in order; names lower-cased, values trimmed. */
  readonly headers: Headers;
  /** Bytes of the head, from its start line to its final CRLF CRLF (leading empty lines excluded). */
  readonly byteLength: number;
}

export interface HttpResponseHead {
  readonly kind: "response";
  readonly statusCode: number;
  readonly reason: string;
  readonly versionMajor: number;
  readonly versionMinor: number;
  readonly headers: Headers;
  readonly byteLength: number;
}

export type HttpHead = HttpRequestHead | HttpResponseHead;
export type HeadKind = HttpHead["kind"];
export type HeadOf<K extends HeadKind> = K extends "request" ? HttpRequestHead : HttpResponseHead;

export interface HttpHeadParserOptions<K extends HeadKind> {
  kind: K;
  /** Largest head accepted, in bytes (default 16 KiB). */
  maxHeadSize?: number;
  /** Most field lines accepted (default 100). */
  maxHeaders?: number;
}

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;
const COLON = 0x3a;
const EMPTY = new Uint8Array(0);
/**
 * The chars no part of a head may contain. A single character class: the search is one linear
 * pass that cannot backtrack (the same as a lookup-table loop, run natively).
 */
const NOT_IN_HEAD = /[^\t\r\n\x20-\x7e\x80-\xff]/;

/**
 * The names a handshake parser sees most, by length: a name matching one of them (ASCII
 * case-insensitively) becomes that constant lower-case string with no allocation at all.
 */
const KNOWN_BY_LENGTH: Array<Array<{ name: string; bytes: Uint8Array }>> = [];
for (const name of [
  "host",
  "upgrade",
  "connection",
  "origin",
  "user-agent",
  "sec-websocket-key",
  "sec-websocket-version",
  "sec-websocket-protocol",
  "sec-websocket-extensions",
  "sec-websocket-accept",
  "content-length",
  "content-type",
  "transfer-encoding",
  "date",
  "server",
  "cache-control",
  "pragma",
  "accept-encoding",
  "accept-language",
  "cookie",
  "set-cookie",
  "authorization",
]) {
  (KNOWN_BY_LENGTH[name.length] ??= []).push({ name, bytes: Uint8Array.from(name, (ch) => ch.charCodeAt(0)) });
}

/**
 * The known lower-case name equal to `data[from, to)` ignoring ASCII case, or null. The bytes are
 * tchars and the known names letters and "-", so `c | 0x20` folds exactly the letters.
 */
function knownName(data: Uint8Array, from: number, to: number): string | null {
  const candidates = KNOWN_BY_LENGTH[to - from];
  if (candidates === undefined) return null;
  outer: for (const { name, bytes } of candidates) {
    for (let k = 0; k < bytes.length; k++) {
      if ((data[from + k]! | 0x20) !== bytes[k]) continue outer;
    }
    return name;
  }
  return null;
}

export class HttpHeadParser<K extends HeadKind = HeadKind> {
  readonly kind: K;
  readonly maxHeadSize: number;
  readonly maxHeaders: number;

  /** Bytes of the current head kept from earlier chunks (only when a head spans chunks). */
  #buf: Uint8Array = EMPTY;
  #len = 0;
  /** Where the next scan for LF starts (index into the buffered bytes). */
  #scanPos = 0;
  /** Start of the line being scanned. */
  #lineStart = 0;
  /** Start of the start line; -1 while only empty lines were seen. */
  #headStart = -1;
  #complete = false;
  #rest: Uint8Array = EMPTY;
  #informationalSkipped = 0;

  constructor(options: HttpHeadParserOptions<K>) {
    this.kind = options.kind;
    this.maxHeadSize = options.maxHeadSize ?? DEFAULT_MAX_HEAD_SIZE;
    this.maxHeaders = options.maxHeaders ?? DEFAULT_MAX_HEADERS;
    if (!(this.maxHeadSize >= 16) || !(this.maxHeaders >= 0)) throw new RangeError("invalid HttpHeadParser limits");
  }

  get complete(): boolean {
    return this.#complete;
  }

  /** 1xx responses (other than 101) skipped so far. */
  get informationalSkipped(): number {
    return this.#informationalSkipped;
  }

  /**
   * Feed bytes. Returns the head once complete (then call `takeRest()` for the bytes after it),
   * or null if more bytes are needed. Throws RemoteProtocolError on a malformed or oversized
   * head; pushing after completion throws an Error.
   */
  push(chunk: Uint8Array): HeadOf<K> | null {
    if (this.#complete) throw new Error("HttpHeadParser: the head is already complete");
    let input = chunk;
    for (;;) {
      const oldLen = this.#len;
      const max = this.maxHeadSize;
      let data: Uint8Array;
      let avail: number;
      if (oldLen === 0) {
        // Never look past the limit, however large the chunk (indexOf has no end bound).
        data = input.length <= max ? input : input.subarray(0, max);
        avail = data.length;
      } else {
        const take = Math.min(input.length, max - oldLen);
        this.#reserve(oldLen + take);
        this.#buf.set(take === input.length ? input : input.subarray(0, take), oldLen);
        this.#len = oldLen + take;
        data = this.#buf;
        avail = this.#len;
      }
      const end = this.#scan(data, this.#scanPos, avail);
      if (end < 0) {
        if (avail >= max) {
          throw this.#error(`HTTP head larger than ${max} bytes`, 431);
        }
        if (oldLen === 0 && input.length > 0) {
          this.#reserve(input.length);
          this.#buf.set(input, 0);
          this.#len = input.length;
        }
        this.#scanPos = avail;
        return null;
      }
      const head = this.#parse(data, this.#headStart, end);
      const rest = input.subarray(end - oldLen);
      this.#len = 0;
      this.#scanPos = 0;
      this.#lineStart = 0;
      this.#headStart = -1;
      if (head.kind === "response" && head.statusCode < 200 && head.statusCode !== 101) {
        this.#informationalSkipped++;
        if (rest.length === 0) return null;
        input = rest;
        continue;
      }
      this.#buf = EMPTY;
      this.#complete = true;
      this.#rest = rest;
      return head as HeadOf<K>;
    }
  }

  /** The bytes that followed the head in the chunk that completed it (a view, not a copy). */
  takeRest(): Uint8Array {
    const rest = this.#rest;
    this.#rest = EMPTY;
    return rest;
  }

  #reserve(size: number): void {
    if (this.#buf.length >= size) return;
    let cap = Math.max(256, this.#buf.length * 2);
    while (cap < size) cap *= 2;
    if (cap > this.maxHeadSize) cap = this.maxHeadSize;
    const next = new Uint8Array(cap);
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
  }

  /**
   * Scan `data[from, avail)` for line ends. Returns the index just after the head's final LF,
   * or -1. Every LF must follow a CR (bare CR is caught by the grammar checks of `#parse`).
   */
  #scan(data: Uint8Array, from: number, avail: number): number {
    let i = from;
    while (i < avail) {
      const lf = data.indexOf(LF, i);
      if (lf < 0 || lf >= avail) return -1;
      if (lf === 0 || data[lf - 1] !== CR) throw this.#error("bare LF in HTTP head", 400);
      const emptyLine = lf - 1 === this.#lineStart;
      if (this.#headStart < 0) {
        if (!emptyLine) this.#headStart = this.#lineStart;
      } else if (emptyLine) {
        return lf + 1;
      }
      this.#lineStart = lf + 1;
      i = lf + 1;
    }
    return -1;
  }

  #error(message: string, status: 400 | 431): RemoteProtocolError {
    return new RemoteProtocolError(
      message,
      this.kind === "request" ? new RejectConnection({ statusCode: status }) : null,
    );
  }

  /** Parse `data[start, end)`, which ends with CRLF CRLF and whose every LF follows a CR. */
  #parse(data: Uint8Array, start: number, end: number): HttpHead {
    // One decode for the whole head; char i of `s` is byte start + i.
    const s = decodeLatin1(data, start, end - 2);
    const n = s.length;
    // Any char that may appear nowhere in a head (controls but HTAB/CR/LF, DEL). What remains
    // between line ends is exactly field-content (HTAB, SP, VCHAR, obs-text).
    if (NOT_IN_HEAD.test(s)) throw this.#error("invalid character in HTTP head", 400);
    const lineEnd = s.indexOf("\r");
    if (s.charCodeAt(lineEnd + 1) !== LF) throw this.#error("bare CR in HTTP head", 400);
    const byteLength = end - start;
    let head: HttpHead;
    const headers: Headers = [];
    if (this.kind === "request") {
      const r = this.#parseRequestLine(data, start, s, lineEnd);
      head = { kind: "request", method: r.method, target: r.target, versionMajor: r.major, versionMinor: r.minor, headers, byteLength };
    } else {
      const r = this.#parseStatusLine(data, start, s, lineEnd);
      head = { kind: "response", statusCode: r.status, reason: r.reason, versionMajor: r.major, versionMinor: r.minor, headers, byteLength };
    }

    let pos = lineEnd + 2;
    while (pos < n) {
      // Never -1: the text ends with CRLF. Every LF follows a CR (#scan), so the first CR of
      // the line must be followed by LF, or it is a bare CR.
      const eol = s.indexOf("\r", pos);
      if (s.charCodeAt(eol + 1) !== LF) throw this.#error("bare CR in HTTP head", 400);
      const first = data[start + pos]!;
      if (first === SP || first === HTAB) throw this.#error("obs-fold (a field line starting with whitespace) is not allowed", 400);
      let i = pos;
      let upper = false;
      for (;;) {
        const c = data[start + i]!;
        if (c === COLON) break;
        if (TCHAR[c] === 0) {
          throw this.#error(
            c === SP || c === HTAB
              ? "whitespace before a header field's colon"
              : i >= eol
                ? "header field line without a colon"
                : "invalid character in a header field name",
            400,
          );
        }
        if (c >= 0x41 && c <= 0x5a) upper = true;
        i++;
      }
      if (i === pos) throw this.#error("empty header field name", 400);
      const name = knownName(data, start + pos, start + i) ?? (upper ? s.slice(pos, i).toLowerCase() : s.slice(pos, i));
      let a = i + 1;
      let b = eol;
      while (a < b) {
        const c = data[start + a]!;
        if (c !== SP && c !== HTAB) break;
        a++;
      }
      while (b > a) {
        const c = data[start + b - 1]!;
        if (c !== SP && c !== HTAB) break;
        b--;
      }
      if (headers.length >= this.maxHeaders) throw this.#error(`more than ${this.maxHeaders} header fields`, 431);
      headers.push([name, s.slice(a, b)]);
      pos = eol + 2;
    }
    return head;
  }

  #parseVersion(data: Uint8Array, at: number): { major: number; minor: number } | null {
    // "HTTP/" DIGIT "." DIGIT, case-sensitive (RFC 9112 §2.3).
    if (
      data[at] !== 0x48 ||
      data[at + 1] !== 0x54 ||
      data[at + 2] !== 0x54 ||
      data[at + 3] !== 0x50 ||
      data[at + 4] !== 0x2f ||
      data[at + 6] !== 0x2e
    ) {
      return null;
    }
    const major = data[at + 5]! - 0x30;
    const minor = data[at + 7]! - 0x30;
    if (!(major >= 0 && major <= 9 && minor >= 0 && minor <= 9)) return null;
    return { major, minor };
  }

  #parseRequestLine(
    data: Uint8Array,
    start: number,
    s: string,
    lineEnd: number,
  ): { method: string; target: string; major: number; minor: number } {
    // method SP request-target SP HTTP-version
    let i = 0;
    while (i < lineEnd && TCHAR[data[start + i]!] === 1) i++;
    if (i === 0 || i >= lineEnd || data[start + i] !== SP) throw this.#error("malformed request line (method)", 400);
    const method = s.slice(0, i);
    const targetStart = ++i;
    while (i < lineEnd) {
      const c = data[start + i]!;
      if (c < 0x21 || c > 0x7e) break;
      i++;
    }
    if (i === targetStart || i >= lineEnd || data[start + i] !== SP) {
      throw this.#error("malformed request line (request-target)", 400);
    }
    const target = s.slice(targetStart, i);
    const v = lineEnd - (i + 1) === 8 ? this.#parseVersion(data, start + i + 1) : null;
    if (v === null) throw this.#error("malformed request line (HTTP version)", 400);
    return { method, target, major: v.major, minor: v.minor };
  }

  #parseStatusLine(
    data: Uint8Array,
    start: number,
    s: string,
    lineEnd: number,
  ): { status: number; reason: string; major: number; minor: number } {
    // HTTP-version SP 3DIGIT [ SP reason-phrase ] (a missing SP before an empty reason is tolerated)
    const v = lineEnd >= 12 && data[start + 8] === SP ? this.#parseVersion(data, start) : null;
    if (v === null) throw this.#error("malformed status line (HTTP version)", 400);
    let status = 0;
    for (let i = 9; i < 12; i++) {
      const d = data[start + i]! - 0x30;
      if (!(d >= 0 && d <= 9)) throw this.#error("malformed status line (status code)", 400);
      status = status * 10 + d;
    }
    if (status < 100) throw this.#error("malformed status line (status code)", 400);
    let reason = "";
    if (lineEnd > 12) {
      if (data[start + 12] !== SP) throw this.#error("malformed status line (status code)", 400);
      reason = s.slice(13, lineEnd);
    }
    return { status, reason, major: v.major, minor: v.minor };
  }
}
