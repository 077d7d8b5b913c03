/**
 * Server side of the opening handshake (RFC 6455 §4.2): validate the client's upgrade request,
 * then write the 101 acceptance or a rejection. Pure functions; the connection statechart keeps
 * whatever state it needs (the received Request, the RejectBodyWriter).
 *
 * Interface:
 * ```ts
 * validateUpgradeRequest(head: HttpRequestHead): Request
 * validateUpgradeRequestHeaders(headers: Headers, target: string): Request
 *     // for WSConnection.initiateUpgradeConnection: a GET request parsed elsewhere (node:http
 *     // 'upgrade'); names may have any case, values are checked against the field grammar
 *   // both throw RemoteProtocolError whose eventHint is the RejectConnection to send:
 *   // 400 in general; 426 + "Sec-WebSocket-Version: 13" for a missing, repeated or wrong version.
 *   // (HttpHeadParser's own errors carry 400 or 431.)
 * buildAcceptResponse(request: Request, accept: AcceptConnection): { bytes: Uint8Array; extensions: Extension[] }
 *     // request: the Request returned above; extensions: those enabled, in response order
 * buildRejectResponse(reject: RejectConnection): { bytes: Uint8Array; body: RejectBodyWriter | null }
 *     // body: null when !hasBody; otherwise encode each following RejectData with body.write()
 *   // both throw LocalProtocolError (nothing written) for invalid caller input
 * WEBSOCKET_VERSION = "13"
 * ```
 *
 * The received Request (as wsproto): `host` as sent, `target`, `subprotocols` and `extensions`
 * (each list element of every Sec-WebSocket-Protocol / Sec-WebSocket-Extensions field, empty
 * elements dropped), and `extraHeaders`: every other field line in order, names lower-cased,
 * including Connection, Upgrade, Sec-WebSocket-Key and Sec-WebSocket-Version.
 *
 * Checks beyond wsproto (README, Differences from wsproto #6, #7, #10, #14): HTTP/1.1 or later; exactly one Host;
 * Upgrade and Connection fields combine as lists (`websocket` / `upgrade` tokens anywhere,
 * case-insensitive); exactly one Sec-WebSocket-Key, base64 of 16 bytes; exactly one
 * Sec-WebSocket-Version; subprotocols must be tokens; extension offers must follow RFC 6455 §9.1;
 * a request body (Content-Length other than 0, or Transfer-Encoding) is refused, since the bytes
 * after the head are WebSocket frames.
 *
 * Extension negotiation (buildAcceptResponse): the offers are walked in the order received; an
 * offer goes to the Extension of `accept.extensions` with the same name that has not accepted
 * one yet, whose `accept(offer)` returns the response parameters (a string, "" or true for the
 * bare name) or null/false to decline, in which case the next offer of that name is tried. The
 * response lists the accepted extensions in offer order.
 *
 * Rejection framing (buildRejectResponse): status 200–599 (101 is AcceptConnection's, other 1xx
 * are not final). Without a body, "Content-Length: 0" is added unless the caller sent it. With a
 * body, the caller's Content-Length is honoured (the writer then checks the byte count), or the
 * caller's "Transfer-Encoding: chunked"; with neither, "Transfer-Encoding: chunked" is added.
 */
import type { Extension } from "../extension.js";
import type { Headers } from "../events.js";
import { AcceptConnection, RejectConnection, Request } from "../events.js";
import { LocalProtocolError, RemoteProtocolError } from "../errors.js";
import {
  appendList,
  extensionName,
  FIELD_CONTENT,
  hasToken,
  isExtensionElement,
  isFieldValue,
  isToken,
  toLowerAscii,
  trimOWS,
} from "../header-lists.js";
import { parseContentLength, RejectBodyWriter, type BodyWriterFraming } from "./body.js";
import type { HttpRequestHead } from "./http-head.js";
import { encodeLatin1 } from "./latin1.js";
import { checkHeaders, reasonPhrase, writeHeaders } from "./serialize.js";
import { generateAcceptToken, isValidKey } from "./tokens.js";

export const WEBSOCKET_VERSION = "13";

function badRequest(message: string): RemoteProtocolError {
  return new RemoteProtocolError(message, new RejectConnection({ statusCode: 400 }));
}

function badVersion(message: string): RemoteProtocolError {
  return new RemoteProtocolError(
    message,
    new RejectConnection({ statusCode: 426, headers: [["Sec-WebSocket-Version", WEBSOCKET_VERSION]] }),
  );
}

/** Validate a parsed upgrade request head (from HttpHeadParser({ kind: "request" })). */
export function validateUpgradeRequest(head: HttpRequestHead): Request {
  if (head.method !== "GET") throw badRequest("Request method must be GET");
  if (head.versionMajor !== 1 || head.versionMinor < 1) {
    throw badRequest(`HTTP/${head.versionMajor}.${head.versionMinor} cannot upgrade to WebSocket: HTTP/1.1 is required`);
  }
  return validateHeaders(head.headers, head.target);
}

/**
 * Validate an upgrade request whose head was parsed elsewhere (method GET and HTTP/1.1 assumed):
 * header names and values are checked against the RFC 9110 grammar, names lower-cased and
 * values trimmed, then the same checks as `validateUpgradeRequest` apply.
 */
export function validateUpgradeRequestHeaders(headers: Headers, target: string): Request {
  if (typeof target !== "string" || target.length === 0) throw badRequest("empty request target");
  for (let i = 0; i < target.length; i++) {
    const c = target.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) throw badRequest("invalid character in the request target");
  }
  if (!Array.isArray(headers)) throw badRequest("headers must be an array of [name, value] pairs");
  const normalized: Headers = [];
  for (const entry of headers) {
    if (!Array.isArray(entry) || typeof entry[0] !== "string" || typeof entry[1] !== "string") {
      throw badRequest("headers must be an array of [name, value] pairs of strings");
    }
    const name = entry[0];
    if (!isToken(name)) throw badRequest("invalid header field name");
    const value = trimOWS(entry[1]);
    for (let i = 0; i < value.length; i++) {
      const c = value.charCodeAt(i);
      if (c > 0xff || FIELD_CONTENT[c] === 0) throw badRequest("invalid character in a header field value");
    }
    normalized.push([toLowerAscii(name), value]);
  }
  return validateHeaders(normalized, target);
}

/** `headers`: names lower-cased, values valid and trimmed. */
function validateHeaders(headers: Headers, target: string): Request {
  let host: string | null = null;
  let hostCount = 0;
  let key: string | null = null;
  let keyCount = 0;
  let version: string | null = null;
  let versionCount = 0;
  const connection: string[] = [];
  const upgrade: string[] = [];
  const extensions: string[] = [];
  const subprotocols: string[] = [];
  const extraHeaders: Headers = [];
  for (const header of headers) {
    const [name, value] = header;
    switch (name) {
      case "host":
        host = value;
        hostCount++;
        continue;
      case "sec-websocket-extensions":
        if (!appendList(value, extensions)) throw badRequest("malformed Sec-WebSocket-Extensions header");
        continue;
      case "sec-websocket-protocol":
        if (!appendList(value, subprotocols)) throw badRequest("malformed Sec-WebSocket-Protocol header");
        continue;
      case "connection":
        if (!appendList(value, connection)) throw badRequest("malformed Connection header");
        break;
      case "upgrade":
        if (!appendList(value, upgrade)) throw badRequest("malformed Upgrade header");
        break;
      case "sec-websocket-key":
        key = value;
        keyCount++;
        break;
      case "sec-websocket-version":
        version = value;
        versionCount++;
        break;
      case "content-length":
        if (parseContentLength([value]) !== 0) throw badRequest("an upgrade request cannot have a body");
        break;
      case "transfer-encoding":
        throw badRequest("an upgrade request cannot have a body");
    }
    extraHeaders.push(header);
  }
  if (hostCount === 0) throw badRequest("Missing header, 'Host'");
  if (hostCount > 1) throw badRequest("Repeated header, 'Host'");
  if (!hasToken(upgrade, "websocket")) throw badRequest("Missing header, 'Upgrade: WebSocket'");
  if (!hasToken(connection, "upgrade")) throw badRequest("Missing header, 'Connection: Upgrade'");
  if (versionCount === 0) throw badVersion("Missing header, 'Sec-WebSocket-Version'");
  if (versionCount > 1) throw badVersion("Repeated header, 'Sec-WebSocket-Version'");
  if (version !== WEBSOCKET_VERSION) throw badVersion(`Unsupported Sec-WebSocket-Version ${JSON.stringify(version)}`);
  if (keyCount === 0) throw badRequest("Missing header, 'Sec-WebSocket-Key'");
  if (keyCount > 1) throw badRequest("Repeated header, 'Sec-WebSocket-Key'");
  if (!isValidKey(key!)) throw badRequest("Sec-WebSocket-Key is not the base64 encoding of 16 bytes");
  for (const p of subprotocols) if (!isToken(p)) throw badRequest(`invalid subprotocol ${JSON.stringify(p)}`);
  for (const e of extensions) if (!isExtensionElement(e)) throw badRequest(`malformed extension offer ${JSON.stringify(e)}`);
  // Most requests offer no extension or subprotocol: share one empty list rather than keep two
  // for as long as the connection is open (the endpoint keeps its Request).
  return new Request({ host: host!, target, extensions: extensions.length === 0 ? NONE : extensions, extraHeaders, subprotocols: subprotocols.length === 0 ? NONE : subprotocols });
}

const NONE: readonly string[] = Object.freeze([]);

const RESERVED_ACCEPT: ReadonlySet<string> = new Set([
  "upgrade",
  "connection",
  "sec-websocket-accept",
  "sec-websocket-protocol",
  "sec-websocket-extensions",
  "content-length",
  "transfer-encoding",
]);

const NOTHING_RESERVED: ReadonlySet<string> = new Set();

function isExtension(x: unknown): x is Extension {
  return (
    typeof x === "object" &&
    x !== null &&
    typeof (x as Extension).name === "string" &&
    typeof (x as Extension).accept === "function"
  );
}

/**
 * Throws the LocalProtocolError `buildAcceptResponse(request, accept)` would throw for the accept
 * itself, building and negotiating nothing (the statechart's guard asks before it is sent):
 * `Extension.accept()` changes the extension, so only the negotiation, when the accept is
 * written, asks it. Returns the request's Sec-WebSocket-Key.
 */
export function checkAcceptResponse(request: Request, accept: AcceptConnection): string {
  let key: string | null = null;
  for (const [name, value] of request.extraHeaders) {
    if (toLowerAscii(name) === "sec-websocket-key") {
      key = value;
      break;
    }
  }
  if (key === null) {
    throw new LocalProtocolError("the request has no Sec-WebSocket-Key: pass the Request the handshake validated");
  }
  const subprotocol = accept.subprotocol;
  if (subprotocol !== null && subprotocol !== undefined) {
    if (typeof subprotocol !== "string" || !request.subprotocols.includes(subprotocol)) {
      throw new LocalProtocolError(`unexpected subprotocol ${JSON.stringify(subprotocol)}: the client did not offer it`);
    }
  }
  checkHeaders(accept.extraHeaders, RESERVED_ACCEPT, "AcceptConnection.extraHeaders");
  const supported: unknown = accept.extensions;
  if (!Array.isArray(supported)) throw new LocalProtocolError("AcceptConnection.extensions must be an array of Extension objects");
  const names = new Set<string>();
  for (const ext of supported) {
    if (!isExtension(ext)) throw new LocalProtocolError("AcceptConnection.extensions must hold Extension objects");
    if (!isToken(ext.name)) throw new LocalProtocolError(`invalid extension name ${JSON.stringify(ext.name)}`);
    if (names.has(ext.name)) throw new LocalProtocolError(`extension ${ext.name} given twice in AcceptConnection.extensions`);
    names.add(ext.name);
  }
  return key;
}

/**
 * The 101 response accepting `request` (the Request returned by validateUpgradeRequest*), and
 * the extensions enabled by the negotiation.
 */
export function buildAcceptResponse(
  request: Request,
  accept: AcceptConnection,
): { bytes: Uint8Array; extensions: Extension[] } {
  const key = checkAcceptResponse(request, accept);
  const subprotocol = accept.subprotocol;
  const supported = accept.extensions;
  // Negotiation, last: Extension.accept() changes the extension's state.
  const enabled: Extension[] = [];
  const elements: string[] = [];
  if (supported.length > 0) {
    for (const offer of request.extensions) {
      if (typeof offer !== "string") continue;
      const name = extensionName(offer);
      let ext: Extension | undefined;
      for (const candidate of supported) {
        if (candidate.name === name && !enabled.includes(candidate)) {
          ext = candidate;
          break;
        }
      }
      if (ext === undefined) continue;
      const params = ext.accept(offer);
      if (params === true || params === "") {
        elements.push(name);
      } else if (typeof params === "string") {
        if (!isFieldValue(params)) {
          throw new LocalProtocolError(`extension ${name} answered with invalid parameters ${JSON.stringify(params)}`);
        }
        elements.push(name + "; " + params);
      } else {
        continue; // declined: try the next offer with this name
      }
      enabled.push(ext);
    }
  }

  let head =
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
    generateAcceptToken(key) +
    "\r\n";
  if (subprotocol !== null && subprotocol !== undefined) head += "Sec-WebSocket-Protocol: " + subprotocol + "\r\n";
  if (elements.length > 0) head += "Sec-WebSocket-Extensions: " + elements.join(", ") + "\r\n";
  head += writeHeaders(accept.extraHeaders) + "\r\n";
  return { bytes: encodeLatin1(head), extensions: enabled };
}

/** The response refusing the handshake, and the writer for its body when it has one. */
export function buildRejectResponse(reject: RejectConnection): { bytes: Uint8Array; body: RejectBodyWriter | null } {
  const { extra, framing } = rejectFraming(reject);
  const status = reject.statusCode;
  const head = "HTTP/1.1 " + status + " " + reasonPhrase(status) + "\r\n" + writeHeaders(reject.headers) + extra + "\r\n";
  return { bytes: encodeLatin1(head), body: framing === null ? null : new RejectBodyWriter(framing) };
}

/**
 * How a rejection's body is framed (RFC 9112 §6), and the header line to add for it; throws the
 * LocalProtocolError `buildRejectResponse` would throw, building nothing (the guard's question).
 */
export function rejectFraming(reject: RejectConnection): { extra: string; framing: BodyWriterFraming | null } {
  const status = reject.statusCode;
  if (!Number.isInteger(status) || status < 200 || status > 599) {
    throw new LocalProtocolError(
      `RejectConnection.statusCode must be an integer from 200 to 599 (101 is sent with AcceptConnection), not ${String(status)}`,
    );
  }
  const headers = reject.headers;
  checkHeaders(headers, NOTHING_RESERVED, "RejectConnection.headers");
  let contentLength: string | null = null;
  let transferEncoding: string | null = null;
  for (const [name, value] of headers) {
    const lower = toLowerAscii(name);
    if (lower === "content-length") {
      if (contentLength !== null) throw new LocalProtocolError("RejectConnection.headers: Content-Length given twice");
      contentLength = value;
    } else if (lower === "transfer-encoding") {
      if (transferEncoding !== null) throw new LocalProtocolError("RejectConnection.headers: Transfer-Encoding given twice");
      transferEncoding = value;
    }
  }
  if (!reject.hasBody) {
    if (transferEncoding !== null) throw new LocalProtocolError("RejectConnection without a body cannot have Transfer-Encoding");
    if (contentLength === null) return { extra: "Content-Length: 0\r\n", framing: null };
    if (parseContentLength([contentLength]) !== 0) {
      throw new LocalProtocolError("RejectConnection without a body must not declare a non-zero Content-Length");
    }
    return { extra: "", framing: null };
  }
  if (status === 204 || status === 304) throw new LocalProtocolError(`a ${status} response cannot have a body`);
  if (contentLength !== null && transferEncoding !== null) {
    throw new LocalProtocolError("RejectConnection.headers: give Content-Length or Transfer-Encoding, not both");
  }
  if (contentLength !== null) {
    const length = parseContentLength([contentLength]);
    if (length === null) throw new LocalProtocolError(`invalid Content-Length ${JSON.stringify(contentLength)}`);
    return { extra: "", framing: { kind: "length", length } };
  }
  if (transferEncoding !== null && toLowerAscii(transferEncoding) !== "chunked") {
    throw new LocalProtocolError('RejectConnection.headers: the only Transfer-Encoding supported is "chunked"');
  }
  return { extra: transferEncoding === null ? "Transfer-Encoding: chunked\r\n" : "", framing: { kind: "chunked" } };
}
