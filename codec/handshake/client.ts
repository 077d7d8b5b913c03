/**
 * Client side of the opening handshake (RFC 6455 §4.1): write the upgrade request, then
 * validate the server's response head. Pure functions; the connection statechart keeps the
 * returned UpgradeRequest until the response arrives.
 *
 * Interface:
 * ```ts
 * interface UpgradeRequest { bytes: Uint8Array; nonce: string; subprotocols: readonly string[];
 *                            extensions: readonly Extension[] }   // extensions: those actually offered
 * buildUpgradeRequest(request: Request, nonce?: string): UpgradeRequest   // nonce default: generateNonce()
 *     // LocalProtocolError (nothing written) for an invalid Request
 * type UpgradeResponse =
 *   | { kind: "accept"; event: AcceptConnection }
 *   | { kind: "reject"; event: RejectConnection; body: RejectBodyReader | null }   // body null ⇔ !hasBody
 * validateUpgradeResponse(head: HttpResponseHead, sent: UpgradeRequest-like { nonce, subprotocols, extensions }): UpgradeResponse
 *     // RemoteProtocolError (eventHint null) for an invalid 101 or rejection framing
 * ```
 *
 * Feed the response bytes to `new HttpHeadParser({ kind: "response" })`, which skips 1xx
 * responses other than 101 (README, Differences from wsproto #5). After an accept, `parser.takeRest()` are the first
 * frame bytes; after a reject, push `parser.takeRest()` and later bytes into `body`.
 *
 * The request written: `GET <target> HTTP/1.1`, Host, `Upgrade: websocket`, `Connection:
 * Upgrade`, Sec-WebSocket-Key, `Sec-WebSocket-Version: 13`, Sec-WebSocket-Protocol (the
 * subprotocols, comma-joined) when any, Sec-WebSocket-Extensions when any extension offers
 * (`offer()` string → "name; params", "" or true → "name", false → not offered), then
 * `extraHeaders` (which may not repeat any of those, nor Content-Length / Transfer-Encoding).
 *
 * The 101 is checked as wsproto does (Connection has `upgrade`, Upgrade has `websocket` — both as
 * combined lists —, Sec-WebSocket-Accept matches the nonce, the subprotocol was offered), and
 * moreover: HTTP/1.1 or later, exactly one Sec-WebSocket-Accept, at most one
 * Sec-WebSocket-Protocol, well-formed extension elements, no extension twice and each one
 * offered (README, Differences from wsproto #10). Each accepted element is passed to its Extension's `finalize`; an
 * error thrown there fails the handshake. AcceptConnection's `extensions` are those Extension
 * objects in response order; its `extraHeaders` every field line but Connection, Upgrade and
 * the Sec-WebSocket-Accept/-Protocol/-Extensions ones (names lower-cased, as wsproto).
 *
 * A final non-101 status becomes RejectConnection(statusCode, all headers, hasBody) where
 * hasBody is true exactly when the response has a body (README, Differences from wsproto #13): Content-Length > 0,
 * chunked, or delimited by EOF.
 */
import type { Extension } from "../extension.js";
import { AcceptConnection, RejectConnection, type Request } from "../events.js";
import { LocalProtocolError, RemoteProtocolError } from "../errors.js";
import type { Headers } from "../events.js";
import { appendList, extensionName, hasToken, isExtensionElement, isFieldValue, isToken } from "../header-lists.js";
import { RejectBodyReader, responseBodyFraming } from "./body.js";
import type { HttpResponseHead } from "./http-head.js";
import { encodeLatin1 } from "./latin1.js";
import { checkHeaders, writeHeaders } from "./serialize.js";
import { generateAcceptToken, generateNonce, isValidKey } from "./tokens.js";

export interface UpgradeRequest {
  /** The request head to write. */
  readonly bytes: Uint8Array;
  /** The Sec-WebSocket-Key sent. */
  readonly nonce: string;
  readonly subprotocols: readonly string[];
  /** The extensions actually offered (those whose offer() was not false). */
  readonly extensions: readonly Extension[];
}

export type UpgradeResponse =
  | { readonly kind: "accept"; readonly event: AcceptConnection }
  | { readonly kind: "reject"; readonly event: RejectConnection; readonly body: RejectBodyReader | null };

const RESERVED_REQUEST: ReadonlySet<string> = new Set([
  "host",
  "upgrade",
  "connection",
  "sec-websocket-key",
  "sec-websocket-version",
  "sec-websocket-protocol",
  "sec-websocket-extensions",
  "content-length",
  "transfer-encoding",
]);

function isVisibleAscii(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

/**
 * Throws the LocalProtocolError `buildUpgradeRequest(request)` would throw for the request itself,
 * building nothing (the statechart's guard asks before the request is sent). `Extension.offer()`
 * is asked, which only reads the extension's options.
 */
export function checkUpgradeRequest(request: Request): void {
  const { host, target } = request;
  if (typeof host !== "string" || !isVisibleAscii(host)) {
    throw new LocalProtocolError(
      "Request.host must be a non-empty ASCII string without whitespace (punycode international domain names)",
    );
  }
  if (typeof target !== "string" || !isVisibleAscii(target)) {
    throw new LocalProtocolError("Request.target must be a non-empty ASCII string without whitespace (percent-encode the rest)");
  }
  const subprotocols: unknown = request.subprotocols;
  if (!Array.isArray(subprotocols)) throw new LocalProtocolError("Request.subprotocols must be an array of strings");
  for (const p of subprotocols) {
    if (typeof p !== "string" || !isToken(p)) {
      throw new LocalProtocolError(`invalid subprotocol ${JSON.stringify(p)}: subprotocols must be HTTP tokens`);
    }
  }
  checkHeaders(request.extraHeaders, RESERVED_REQUEST, "Request.extraHeaders");
  if (!Array.isArray(request.extensions)) throw new LocalProtocolError("Request.extensions must be an array of Extension objects");
  const names = new Set<string>();
  for (const ext of request.extensions) {
    if (typeof ext !== "object" || ext === null || typeof ext.offer !== "function" || typeof ext.finalize !== "function") {
      throw new LocalProtocolError("a client's Request.extensions must hold Extension objects, not strings");
    }
    if (!isToken(ext.name)) throw new LocalProtocolError(`invalid extension name ${JSON.stringify(ext.name)}`);
    if (names.has(ext.name)) throw new LocalProtocolError(`extension ${ext.name} given twice in Request.extensions`);
    names.add(ext.name);
    offerElement(ext);
  }
}

/** The Sec-WebSocket-Extensions element offering `ext`, or null when it offers nothing. */
function offerElement(ext: Extension): string | null {
  const params = ext.offer();
  if (params === false) return null;
  if (params === true || params === "") return ext.name;
  if (typeof params === "string" && isFieldValue(params)) return ext.name + "; " + params;
  throw new LocalProtocolError(`extension ${ext.name} offered invalid parameters ${JSON.stringify(params)}`);
}

/** The upgrade request for `request` (a client's Request, whose extensions are Extension objects). */
export function buildUpgradeRequest(request: Request, nonce: string = generateNonce()): UpgradeRequest {
  checkUpgradeRequest(request);
  if (!isValidKey(nonce)) throw new LocalProtocolError("the nonce must be the base64 encoding of 16 bytes");
  const { host, target, subprotocols } = request;
  const offered: Extension[] = [];
  const elements: string[] = [];
  for (const ext of request.extensions as readonly Extension[]) {
    const element = offerElement(ext);
    if (element === null) continue;
    elements.push(element);
    offered.push(ext);
  }

  let head =
    "GET " +
    target +
    " HTTP/1.1\r\nHost: " +
    host +
    "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " +
    nonce +
    "\r\nSec-WebSocket-Version: 13\r\n";
  if (subprotocols.length > 0) head += "Sec-WebSocket-Protocol: " + subprotocols.join(", ") + "\r\n";
  if (elements.length > 0) head += "Sec-WebSocket-Extensions: " + elements.join(", ") + "\r\n";
  head += writeHeaders(request.extraHeaders) + "\r\n";
  return { bytes: encodeLatin1(head), nonce, subprotocols: subprotocols.slice(), extensions: offered };
}

function fail(message: string): RemoteProtocolError {
  return new RemoteProtocolError(message, null);
}

/** What the client learns from the server's final response head. */
export function validateUpgradeResponse(
  head: HttpResponseHead,
  sent: { readonly nonce: string; readonly subprotocols: readonly string[]; readonly extensions: ReadonlyArray<Extension | string> },
): UpgradeResponse {
  if (head.statusCode !== 101) {
    if (head.statusCode < 200) throw fail(`unexpected informational response ${head.statusCode}`);
    const framing = responseBodyFraming(head);
    const hasBody = framing.kind !== "none";
    return {
      kind: "reject",
      event: new RejectConnection({ statusCode: head.statusCode, headers: head.headers, hasBody }),
      body: hasBody ? new RejectBodyReader(framing) : null,
    };
  }
  if (head.versionMajor !== 1 || head.versionMinor < 1) throw fail("a 101 response must be HTTP/1.1 or later");

  const connection: string[] = [];
  const upgrade: string[] = [];
  const accepted: string[] = [];
  let accept: string | null = null;
  let acceptCount = 0;
  let subprotocol: string | null = null;
  let subprotocolCount = 0;
  const extraHeaders: Headers = [];
  for (const header of head.headers) {
    const [name, value] = header;
    switch (name) {
      case "connection":
        if (!appendList(value, connection)) throw fail("malformed Connection header");
        continue;
      case "upgrade":
        if (!appendList(value, upgrade)) throw fail("malformed Upgrade header");
        continue;
      case "sec-websocket-accept":
        accept = value;
        acceptCount++;
        continue;
      case "sec-websocket-protocol":
        subprotocol = value;
        subprotocolCount++;
        continue;
      case "sec-websocket-extensions":
        if (!appendList(value, accepted)) throw fail("malformed Sec-WebSocket-Extensions header");
        continue;
    }
    extraHeaders.push(header);
  }
  if (!hasToken(connection, "upgrade")) throw fail("Missing header, 'Connection: Upgrade'");
  if (!hasToken(upgrade, "websocket")) throw fail("Missing header, 'Upgrade: WebSocket'");
  if (acceptCount !== 1 || accept !== generateAcceptToken(sent.nonce)) throw fail("Bad accept token");
  if (subprotocolCount > 1) throw fail("Repeated header, 'Sec-WebSocket-Protocol'");
  if (subprotocol !== null && !sent.subprotocols.includes(subprotocol)) {
    throw fail(`unrecognized subprotocol ${JSON.stringify(subprotocol)}`);
  }

  // Match every accepted element to an offered extension before finalizing any of them.
  const matched: Extension[] = [];
  for (const element of accepted) {
    if (!isExtensionElement(element)) throw fail(`malformed extension ${JSON.stringify(element)}`);
    const name = extensionName(element);
    let ext: Extension | undefined;
    for (const candidate of sent.extensions) {
      if (typeof candidate !== "string" && candidate.name === name) {
        ext = candidate;
        break;
      }
    }
    if (ext === undefined) throw fail(`unrecognized extension ${name}`);
    if (matched.includes(ext)) throw fail(`extension ${name} accepted twice`);
    matched.push(ext);
  }
  for (let i = 0; i < matched.length; i++) {
    const ext = matched[i]!;
    try {
      ext.finalize(accepted[i]!);
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      throw fail(`extension ${ext.name} refused the server's response ${JSON.stringify(accepted[i])}: ${detail}`);
    }
  }
  return { kind: "accept", event: new AcceptConnection({ subprotocol, extensions: matched, extraHeaders }) };
}
