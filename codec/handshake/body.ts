/**
 * The body of a rejection (a final non-101 response to the upgrade request): how it is framed,
 * decoding it into RejectData events on the client, and encoding RejectData on the server.
 *
 * Interface:
 * ```ts
 * type BodyFraming = { kind: "none" } | { kind: "length"; length: number } | { kind: "chunked" } | { kind: "eof" }
 * responseBodyFraming(head: HttpResponseHead): BodyFraming     // RFC 9112 §6.3; RemoteProtocolError if invalid
 *
 * new RejectBodyReader(framing: BodyFraming, options?: { maxTrailerSize?: number; maxChunkExtSize?: number })
 *       // framing: any but "none" (a body-less rejection needs no reader)
 *   push(data: Uint8Array | null): RejectData | null   // null input = EOF. At most one event per call:
 *                                                      // the body bytes decoded from this call (coalesced),
 *                                                      // bodyFinished true on the call where the body ends.
 *   readonly finished: boolean
 *
 * new RejectBodyWriter(framing: { kind: "length"; length: number } | { kind: "chunked" })
 *   write(event: RejectData): Uint8Array               // LocalProtocolError on a Content-Length mismatch
 *   readonly finished: boolean
 * ```
 *
 * Reader details: Content-Length bodies end after that many bytes; chunked bodies are decoded
 * (chunk extensions are checked for legal characters and skipped, trailer fields are checked
 * against the field grammar and discarded: RejectData has no place for them); "eof" bodies end
 * at `push(null)`. An EOF before a length-delimited or chunked body is complete raises
 * RemoteProtocolError. Bytes after the end of the body are ignored (the server closes the
 * connection after a rejection). Data is returned as views into the pushed chunks when a call
 * yields a single piece, copied into one array when it yields several.
 */
import { RejectData } from "../events.js";
import { LocalProtocolError, RemoteProtocolError } from "../errors.js";
import { combinedList, FIELD_CONTENT, TCHAR, toLowerAscii } from "../header-lists.js";
import type { HttpResponseHead } from "./http-head.js";
import { concatBytes } from "../bytes.js";

export type BodyFraming =
  | { readonly kind: "none" }
  | { readonly kind: "length"; readonly length: number }
  | { readonly kind: "chunked" }
  | { readonly kind: "eof" };

const EMPTY = new Uint8Array(0);
const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;

function remoteError(message: string): RemoteProtocolError {
  return new RemoteProtocolError(message, null);
}

/** Parse a Content-Length value list: every element the same run of digits (RFC 9110 §8.6). */
export function parseContentLength(values: readonly string[]): number | null {
  let result: number | null = null;
  for (const v of values) {
    if (v.length === 0 || v.length > 15) return null;
    let n = 0;
    for (let i = 0; i < v.length; i++) {
      const d = v.charCodeAt(i) - 0x30;
      if (!(d >= 0 && d <= 9)) return null;
      n = n * 10 + d;
    }
    if (result !== null && result !== n) return null;
    result = n;
  }
  return result;
}

/** How the body of a received response is delimited (RFC 9112 §6.3). */
export function responseBodyFraming(head: HttpResponseHead): BodyFraming {
  const status = head.statusCode;
  if (status < 200 || status === 204 || status === 304) return { kind: "none" };
  let hasTE = false;
  let hasCL = false;
  for (const [name] of head.headers) {
    if (name === "transfer-encoding") hasTE = true;
    else if (name === "content-length") hasCL = true;
  }
  if (hasTE) {
    // Transfer-Encoding overrides Content-Length (RFC 9112 §6.3 item 3).
    const codings = combinedList(head.headers, "transfer-encoding");
    if (codings === null || codings.length === 0) throw remoteError("invalid Transfer-Encoding header");
    for (let i = 0; i < codings.length - 1; i++) {
      if (toLowerAscii(codings[i]!) === "chunked") throw remoteError("chunked applied before another transfer coding");
    }
    return toLowerAscii(codings[codings.length - 1]!) === "chunked" ? { kind: "chunked" } : { kind: "eof" };
  }
  if (hasCL) {
    const values = combinedList(head.headers, "content-length");
    const length = values === null ? null : parseContentLength(values);
    if (length === null) throw remoteError("invalid Content-Length header");
    return length === 0 ? { kind: "none" } : { kind: "length", length };
  }
  return { kind: "eof" };
}

const enum S {
  Size,
  Ext,
  SizeLF,
  Data,
  DataCR,
  DataLF,
  TrailerLineStart,
  TrailerName,
  TrailerValue,
  TrailerLF,
  EndLF,
  Done,
}

export interface RejectBodyReaderOptions {
  /** Largest trailer section accepted, in bytes (default 16 KiB). */
  maxTrailerSize?: number;
  /** Largest chunk extension accepted, per chunk, in bytes (default 4 KiB). */
  maxChunkExtSize?: number;
}

/** Client side: decodes a rejection body into RejectData events. */
export class RejectBodyReader {
  readonly framing: BodyFraming;
  readonly #maxTrailerSize: number;
  readonly #maxChunkExtSize: number;
  #finished = false;
  /** Content-Length: bytes left. Chunked: bytes left in the current chunk. */
  #remaining = 0;
  #state: S = S.Size;
  #sizeDigits = 0;
  #extBytes = 0;
  #trailerBytes = 0;

  constructor(framing: BodyFraming, options: RejectBodyReaderOptions = {}) {
    if (framing.kind === "none") throw new Error("RejectBodyReader: a response without a body needs no reader");
    this.framing = framing;
    this.#maxTrailerSize = options.maxTrailerSize ?? 16 * 1024;
    this.#maxChunkExtSize = options.maxChunkExtSize ?? 4 * 1024;
    if (framing.kind === "length") this.#remaining = framing.length;
  }

  get finished(): boolean {
    return this.#finished;
  }

  /** Feed received bytes, or null at EOF. Returns the event for this call, if any. */
  push(data: Uint8Array | null): RejectData | null {
    if (this.#finished) return null;
    if (data === null) {
      if (this.framing.kind === "eof") {
        this.#finished = true;
        return new RejectData({ data: EMPTY, bodyFinished: true });
      }
      throw remoteError("the connection closed before the end of the rejection body");
    }
    if (data.length === 0) return null;
    switch (this.framing.kind) {
      case "eof":
        return new RejectData({ data, bodyFinished: false });
      case "length": {
        const take = Math.min(this.#remaining, data.length);
        this.#remaining -= take;
        if (this.#remaining === 0) this.#finished = true;
        return new RejectData({ data: take === data.length ? data : data.subarray(0, take), bodyFinished: this.#finished });
      }
      default:
        return this.#pushChunked(data);
    }
  }

  #pushChunked(data: Uint8Array): RejectData | null {
    const pieces: Uint8Array[] = [];
    const n = data.length;
    let i = 0;
    while (i < n && this.#state !== S.Done) {
      if (this.#state === S.Data) {
        const take = Math.min(this.#remaining, n - i);
        pieces.push(data.subarray(i, i + take));
        i += take;
        this.#remaining -= take;
        if (this.#remaining === 0) this.#state = S.DataCR;
        continue;
      }
      this.#step(data[i]!);
      i++;
    }
    if (this.#state === S.Done) this.#finished = true;
    if (pieces.length === 0 && !this.#finished) return null;
    return new RejectData({ data: concatBytes(pieces), bodyFinished: this.#finished });
  }

  /** One byte of chunk framing (everything but chunk data). */
  #step(c: number): void {
    switch (this.#state) {
      case S.Size: {
        const d = hexDigit(c);
        if (d >= 0) {
          if (++this.#sizeDigits > 13) throw remoteError("chunk size too large");
          this.#remaining = this.#remaining * 16 + d;
        } else if (this.#sizeDigits > 0 && (c === 0x3b || c === SP || c === HTAB)) {
          this.#extBytes = 1;
          this.#state = S.Ext;
        } else if (this.#sizeDigits > 0 && c === CR) {
          this.#state = S.SizeLF;
        } else {
          throw remoteError("malformed chunk size line");
        }
        return;
      }
      case S.Ext:
        if (c === CR) this.#state = S.SizeLF;
        else if (FIELD_CONTENT[c] === 0) throw remoteError("invalid character in a chunk extension");
        else if (++this.#extBytes > this.#maxChunkExtSize) throw remoteError("chunk extension too large");
        return;
      case S.SizeLF:
        if (c !== LF) throw remoteError("bare CR in a chunk size line");
        this.#sizeDigits = 0;
        this.#state = this.#remaining === 0 ? S.TrailerLineStart : S.Data;
        return;
      case S.DataCR:
        if (c !== CR) throw remoteError("chunk data longer than its size");
        this.#state = S.DataLF;
        return;
      case S.DataLF:
        if (c !== LF) throw remoteError("missing LF after chunk data");
        this.#state = S.Size;
        return;
      default:
        this.#stepTrailer(c);
    }
  }

  #stepTrailer(c: number): void {
    if (++this.#trailerBytes > this.#maxTrailerSize) throw remoteError("trailer section too large");
    switch (this.#state) {
      case S.TrailerLineStart:
        if (c === CR) this.#state = S.EndLF;
        else if (TCHAR[c] === 1) this.#state = S.TrailerName;
        else throw remoteError("malformed trailer field");
        return;
      case S.TrailerName:
        if (c === 0x3a) this.#state = S.TrailerValue;
        else if (TCHAR[c] === 0) throw remoteError("malformed trailer field name");
        return;
      case S.TrailerValue:
        if (c === CR) this.#state = S.TrailerLF;
        else if (FIELD_CONTENT[c] === 0) throw remoteError("invalid character in a trailer field value");
        return;
      case S.TrailerLF:
        if (c !== LF) throw remoteError("bare CR in a trailer field");
        this.#state = S.TrailerLineStart;
        return;
      case S.EndLF:
        if (c !== LF) throw remoteError("bare CR at the end of the trailer section");
        this.#state = S.Done;
        return;
    }
  }
}

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

/** How a server frames a rejection's body: a Content-Length, or chunked. */
export type BodyWriterFraming = { readonly kind: "length"; readonly length: number } | { readonly kind: "chunked" };

/** Server side: encodes RejectData events as the body framing chosen by buildRejectResponse. */
export class RejectBodyWriter {
  readonly framing: BodyWriterFraming;
  #sent = 0;
  #finished = false;

  constructor(framing: BodyWriterFraming) {
    this.framing = framing;
  }

  get finished(): boolean {
    return this.#finished;
  }

  /** Why `write(event)` would throw, or null; writes nothing (the statechart's guard asks). */
  refusal(event: RejectData): LocalProtocolError | null {
    if (this.#finished) return new LocalProtocolError("the rejection body is already finished");
    const data: unknown = event.data;
    if (!(data instanceof Uint8Array)) return new LocalProtocolError("RejectData.data must be a Uint8Array");
    if (this.framing.kind !== "length") return null;
    const total = this.#sent + data.length;
    if (total > this.framing.length) {
      return new LocalProtocolError(`rejection body longer than its Content-Length (${this.framing.length})`);
    }
    if (event.bodyFinished && total < this.framing.length) {
      return new LocalProtocolError(`rejection body finished after ${total} bytes, shorter than its Content-Length (${this.framing.length})`);
    }
    return null;
  }

  /** The bytes for one RejectData. Throws LocalProtocolError (and changes nothing) on misuse. */
  write(event: RejectData): Uint8Array {
    const refused = this.refusal(event);
    if (refused !== null) throw refused;
    const data = event.data;
    const finish = event.bodyFinished;
    if (this.framing.kind === "length") {
      this.#sent += data.length;
      this.#finished = finish;
      return data;
    }
    // Chunked: an empty chunk would end the body, so empty data writes nothing until the end.
    const sizeLine = data.length > 0 ? data.length.toString(16) + "\r\n" : "";
    const tail = (data.length > 0 ? "\r\n" : "") + (finish ? "0\r\n\r\n" : "");
    const out = new Uint8Array(sizeLine.length + data.length + tail.length);
    writeAscii(out, 0, sizeLine);
    out.set(data, sizeLine.length);
    writeAscii(out, sizeLine.length + data.length, tail);
    this.#sent += data.length;
    this.#finished = finish;
    return out;
  }
}

function writeAscii(out: Uint8Array, at: number, s: string): void {
  for (let i = 0; i < s.length; i++) out[at + i] = s.charCodeAt(i);
}
