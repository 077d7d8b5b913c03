/**
 * The WebSocket opening handshake over HTTP/2 (RFC 8441, "Bootstrapping WebSockets with
 * HTTP/2"), beside the HTTP/1.1 one (./server.ts, ./client.ts). The HTTP/2 stack (node:http2,
 * python-h2, a browser) carries the headers; this validates and builds them:
 *
 * - §3: the server advertises SETTINGS_ENABLE_CONNECT_PROTOCOL (0x8) = 1; a client may send an
 *   extended CONNECT only after seeing it (the HTTP/2 glue checks that).
 * - §4: the request is a CONNECT with a `:protocol` pseudo-header, and, unlike a plain CONNECT
 *   (RFC 9113 §8.5), `:scheme` and `:path` are included; `:authority` names the host.
 * - §5: `:protocol` is `websocket`; `Sec-WebSocket-Version: 13`, `Sec-WebSocket-Protocol` and
 *   `Sec-WebSocket-Extensions` are used as in RFC 6455 §4; `Sec-WebSocket-Key` and
 *   `Sec-WebSocket-Accept` are not (the stream itself is the proof); `Upgrade` and
 *   `Connection` are connection-specific and forbidden in HTTP/2 (RFC 9113 §8.2.2). A 2xx
 *   response (200) accepts; the stream then carries WebSocket frames (RFC 6455 §5), which the
 *   frames-only `Connection` reads and writes.
 *
 * Header names are lower-case in HTTP/2 (RFC 9113 §8.2.1); values come validated by the HTTP/2
 * stack's HPACK decoder.
 */
import type { Extension } from "../extension.js";
import { AcceptConnection, RejectConnection, Request } from "../events.js";
import { LocalProtocolError, RemoteProtocolError } from "../errors.js";
import type { Headers } from "../events.js";
import { appendList, extensionName, isExtensionElement, isFieldValue, isToken, toLowerAscii } from "../header-lists.js";

/** The `:protocol` value of a WebSocket extended CONNECT (RFC 8441 §5). */
export const RFC8441_PROTOCOL = "websocket";

/** Header fields HTTP/2 forbids or that RFC 8441 replaces; not sent by the extra headers. */
const RESERVED: ReadonlySet<string> = new Set([
  "connection",
  "upgrade",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "sec-websocket-key",
  "sec-websocket-accept",
  "sec-websocket-version",
  "sec-websocket-protocol",
  "sec-websocket-extensions",
]);

function badRequest(message: string, statusCode = 400, headers: Headers = []): RemoteProtocolError {
  return new RemoteProtocolError(message, new RejectConnection({ statusCode, headers }));
}

/**
 * Server: validate an extended CONNECT's headers (pseudo-headers included, as the HTTP/2 stack
 * received them, e.g. node:http2's `rawHeaders` pairs). Returns the Request the application
 * decides on (`host` is `:authority`, `target` is `:path`); throws RemoteProtocolError whose
 * `eventHint` is the rejection to answer with (400, or 426 for a wrong version as RFC 6455
 * §4.4), saying which rule of RFC 8441 the request broke.
 */
export function validateExtendedConnect(headers: Headers): Request {
  const pseudo = new Map<string, string>();
  const subprotocols: string[] = [];
  const extensions: string[] = [];
  const extraHeaders: Headers = [];
  const versions: string[] = [];
  for (const [rawName, value] of headers) {
    const name = toLowerAscii(rawName);
    if (name.startsWith(":")) {
      if (pseudo.has(name)) throw badRequest(`repeated pseudo-header ${name} (RFC 9113 §8.3)`);
      pseudo.set(name, value);
      continue;
    }
    switch (name) {
      case "sec-websocket-version":
        versions.push(value.trim());
        continue;
      case "sec-websocket-protocol":
        if (!appendList(value, subprotocols)) throw badRequest("malformed Sec-WebSocket-Protocol header (RFC 6455 §4.1, RFC 8441 §5)");
        continue;
      case "sec-websocket-extensions":
        if (!appendList(value, extensions)) throw badRequest("malformed Sec-WebSocket-Extensions header (RFC 6455 §9.1, RFC 8441 §5)");
        continue;
      case "connection":
      case "upgrade":
      case "transfer-encoding":
        throw badRequest(`the ${name} header is connection-specific and not allowed in HTTP/2 (RFC 9113 §8.2.2)`);
    }
    extraHeaders.push([name, value]);
  }
  const method = pseudo.get(":method");
  if (method !== "CONNECT") throw badRequest(`an RFC 8441 WebSocket request is a CONNECT, not ${method ?? "a request without :method"} (RFC 8441 §4)`);
  const protocol = pseudo.get(":protocol");
  if (protocol === undefined) throw badRequest("a CONNECT without :protocol is not a WebSocket request (RFC 8441 §4)");
  if (toLowerAscii(protocol) !== RFC8441_PROTOCOL) throw badRequest(`:protocol must be "websocket", not ${JSON.stringify(protocol)} (RFC 8441 §5)`);
  const scheme = pseudo.get(":scheme");
  if (scheme !== "https" && scheme !== "http") throw badRequest(`an extended CONNECT needs :scheme http or https, not ${JSON.stringify(scheme ?? null)} (RFC 8441 §4)`);
  const path = pseudo.get(":path");
  if (path === undefined || path === "") throw badRequest("an extended CONNECT needs a non-empty :path (RFC 8441 §4)");
  const authority = pseudo.get(":authority");
  if (authority === undefined || authority === "") throw badRequest("an extended CONNECT needs :authority (RFC 8441 §4, RFC 9113 §8.5)");
  if (versions.length !== 1 || versions[0] !== "13") {
    throw badRequest(
      versions.length === 0 ? "Missing header, 'Sec-WebSocket-Version' (RFC 8441 §5)" : `Unsupported Sec-WebSocket-Version ${JSON.stringify(versions.join(", "))} (RFC 6455 §4.4)`,
      426,
      [["sec-websocket-version", "13"]],
    );
  }
  for (const p of subprotocols) if (!isToken(p)) throw badRequest(`invalid subprotocol ${JSON.stringify(p)} (RFC 6455 §4.1)`);
  for (const e of extensions) if (!isExtensionElement(e)) throw badRequest(`malformed extension offer ${JSON.stringify(e)} (RFC 6455 §9.1)`);
  return new Request({ host: authority, target: path, subprotocols, extensions, extraHeaders });
}

/**
 * Server: the 200 response's headers accepting `request` (RFC 8441 §5: no Sec-WebSocket-Accept),
 * and the extensions the negotiation enabled (RFC 6455 §9.1; Extension.accept() changes their
 * state, so this is called once, when accepting).
 */
export function buildExtendedConnectResponse(request: Request, accept: AcceptConnection): { headers: Headers; extensions: Extension[] } {
  const subprotocol = accept.subprotocol ?? null;
  if (subprotocol !== null && !request.subprotocols.includes(subprotocol)) {
    throw new LocalProtocolError(`unexpected subprotocol ${JSON.stringify(subprotocol)}: the client did not offer it (RFC 6455 §4.2.2)`);
  }
  checkExtraHeaders(accept.extraHeaders, "AcceptConnection.extraHeaders");
  const enabled: Extension[] = [];
  const elements: string[] = [];
  for (const offer of request.extensions) {
    if (typeof offer !== "string") continue;
    const name = extensionName(offer);
    const extension = accept.extensions.find((candidate) => candidate.name === name && !enabled.includes(candidate));
    if (extension === undefined) continue;
    const params = extension.accept(offer);
    if (params === true || params === "") elements.push(name);
    else if (typeof params === "string" && isFieldValue(params)) elements.push(`${name}; ${params}`);
    else if (typeof params === "string") throw new LocalProtocolError(`extension ${name} answered with invalid parameters ${JSON.stringify(params)}`);
    else continue; // declined: try the next offer with this name
    enabled.push(extension);
  }
  const headers: Headers = [[":status", "200"]];
  if (subprotocol !== null) headers.push(["sec-websocket-protocol", subprotocol]);
  if (elements.length > 0) headers.push(["sec-websocket-extensions", elements.join(", ")]);
  for (const [name, value] of accept.extraHeaders) headers.push([toLowerAscii(name), value]);
  return { headers, extensions: enabled };
}

/** What a client sends (the headers) and must remember to check the response. */
export interface ExtendedConnectRequest {
  headers: Headers;
  subprotocols: readonly string[];
  /** The extensions whose offers were sent. */
  extensions: Extension[];
}

/**
 * Client: the extended CONNECT's headers for `request` (`host` becomes `:authority`, `target`
 * `:path`; `scheme` is the connection's, "https" or "http").
 */
export function buildExtendedConnect(request: Request, scheme: "https" | "http"): ExtendedConnectRequest {
  if (typeof request.target !== "string" || request.target === "") throw new LocalProtocolError("Request.target must be a non-empty path (RFC 8441 §4: :path)");
  if (typeof request.host !== "string" || request.host === "") throw new LocalProtocolError("Request.host must be non-empty (RFC 8441 §4: :authority)");
  for (const p of request.subprotocols) {
    if (!isToken(p)) throw new LocalProtocolError(`invalid subprotocol ${JSON.stringify(p)}: subprotocols must be HTTP tokens (RFC 6455 §4.1)`);
  }
  checkExtraHeaders(request.extraHeaders, "Request.extraHeaders");
  const offered: Extension[] = [];
  const elements: string[] = [];
  for (const extension of request.extensions) {
    if (typeof extension === "string") throw new LocalProtocolError("a client's Request.extensions must hold Extension objects, not strings");
    const params = extension.offer();
    if (params === false) continue;
    if (params === true || params === "") elements.push(extension.name);
    else if (isFieldValue(params)) elements.push(`${extension.name}; ${params}`);
    else throw new LocalProtocolError(`extension ${extension.name} offered invalid parameters ${JSON.stringify(params)}`);
    offered.push(extension);
  }
  const headers: Headers = [
    [":method", "CONNECT"],
    [":protocol", RFC8441_PROTOCOL],
    [":scheme", scheme],
    [":path", request.target],
    [":authority", request.host],
    ["sec-websocket-version", "13"],
  ];
  if (request.subprotocols.length > 0) headers.push(["sec-websocket-protocol", request.subprotocols.join(", ")]);
  if (elements.length > 0) headers.push(["sec-websocket-extensions", elements.join(", ")]);
  for (const [name, value] of request.extraHeaders) headers.push([toLowerAscii(name), value]);
  return { headers, subprotocols: request.subprotocols.slice(), extensions: offered };
}

/**
 * Client: what the server's response (`:status` and headers) means. A 2xx accepts (RFC 8441 §5;
 * RFC 9113 §8.5: any 2xx to a CONNECT); its subprotocol must be one offered and its extensions
 * ones offered, each once, which are then finalized. Anything else is a RejectConnection.
 * Throws RemoteProtocolError for an invalid acceptance.
 */
export function validateExtendedConnectResponse(status: number, headers: Headers, sent: ExtendedConnectRequest): AcceptConnection | RejectConnection {
  const extraHeaders: Headers = [];
  let subprotocol: string | null = null;
  let subprotocolCount = 0;
  const accepted: string[] = [];
  for (const [rawName, value] of headers) {
    const name = toLowerAscii(rawName);
    if (name.startsWith(":")) continue;
    if (name === "sec-websocket-protocol") {
      subprotocol = value.trim();
      subprotocolCount++;
    } else if (name === "sec-websocket-extensions") {
      if (!appendList(value, accepted)) throw new RemoteProtocolError("malformed Sec-WebSocket-Extensions header in the response (RFC 6455 §9.1)", null);
    } else extraHeaders.push([name, value]);
  }
  if (status < 200 || status > 299) return new RejectConnection({ statusCode: status, headers: extraHeaders, hasBody: false });
  if (subprotocolCount > 1) throw new RemoteProtocolError("Repeated header, 'Sec-WebSocket-Protocol' (RFC 6455 §4.1)", null);
  if (subprotocol !== null && !sent.subprotocols.includes(subprotocol)) {
    throw new RemoteProtocolError(`the server chose subprotocol ${JSON.stringify(subprotocol)}, which was not offered (RFC 6455 §4.1)`, null);
  }
  const matched: Extension[] = [];
  for (const element of accepted) {
    if (!isExtensionElement(element)) throw new RemoteProtocolError(`malformed extension ${JSON.stringify(element)} (RFC 6455 §9.1)`, null);
    const name = extensionName(element);
    const extension = sent.extensions.find((candidate) => candidate.name === name);
    if (extension === undefined) throw new RemoteProtocolError(`the server accepted extension ${name}, which was not offered (RFC 6455 §9.1)`, null);
    if (matched.includes(extension)) throw new RemoteProtocolError(`extension ${name} accepted twice (RFC 6455 §9.1)`, null);
    matched.push(extension);
  }
  matched.forEach((extension, index) => {
    try {
      extension.finalize(accepted[index]!);
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      throw new RemoteProtocolError(`extension ${extension.name} refused the server's response ${JSON.stringify(accepted[index])}: ${detail}`, null);
    }
  });
  return new AcceptConnection({ subprotocol, extensions: matched, extraHeaders });
}

function checkExtraHeaders(headers: Headers, what: string): void {
  for (const [name, value] of headers) {
    const lower = toLowerAscii(name);
    if (!isToken(name) || lower.startsWith(":")) throw new LocalProtocolError(`${what}: invalid header name ${JSON.stringify(name)}`);
    if (RESERVED.has(lower)) throw new LocalProtocolError(`${what}: ${lower} is set by the RFC 8441 handshake or forbidden in HTTP/2 (RFC 9113 §8.2.2)`);
    if (!isFieldValue(value)) throw new LocalProtocolError(`${what}: invalid value for ${name}`);
  }
}
