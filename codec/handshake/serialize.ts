/**
 * Helpers to write HTTP/1.1 heads from caller-supplied values, checking them so that nothing the
 * caller passes can break the message framing (CR/LF injection, bad names, non-latin1 text).
 * Every failure is a LocalProtocolError naming the mistake (README, Differences from wsproto #8).
 *
 * Interface:
 * ```ts
 * checkHeaders(headers: Headers, reserved: ReadonlySet<string>, what: string): void
 *     // each entry a [name, value] pair of strings; name a token not in `reserved` (lower-case
 *     // names of fields the codec writes itself); value a field value (latin1, no CR/LF/NUL,
 *     // no leading/trailing whitespace)
 * writeHeaders(headers: Headers): string   // "Name: value\r\n" for each (already checked)
 * reasonPhrase(status: number): string     // standard reason phrase, or "" if unknown
 * ```
 */
import type { Headers } from "../events.js";
import { LocalProtocolError } from "../errors.js";
import { isFieldValue, isToken, toLowerAscii } from "../header-lists.js";

export function checkHeaders(headers: Headers, reserved: ReadonlySet<string>, what: string): void {
  if (!Array.isArray(headers)) throw new LocalProtocolError(`${what} must be an array of [name, value] pairs`);
  for (const entry of headers) {
    if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[0] !== "string" || typeof entry[1] !== "string") {
      throw new LocalProtocolError(`${what}: each header must be a [name, value] pair of strings`);
    }
    const [name, value] = entry;
    if (!isToken(name)) throw new LocalProtocolError(`${what}: invalid header name ${JSON.stringify(name)}`);
    if (!isFieldValue(value)) {
      throw new LocalProtocolError(
        `${what}: invalid value for header ${name} (CR, LF, control characters, chars above U+00FF and leading/trailing whitespace are not allowed)`,
      );
    }
    const lower = toLowerAscii(name);
    if (reserved.has(lower)) {
      throw new LocalProtocolError(`${what}: header ${name} is written by the handshake itself and cannot be given here`);
    }
  }
}

export function writeHeaders(headers: Headers): string {
  let out = "";
  for (const [name, value] of headers) out += name + ": " + value + "\r\n";
  return out;
}

const REASONS: Record<number, string> = {
  101: "Switching Protocols",
  200: "OK",
  204: "No Content",
  301: "Moved Permanently",
  302: "Found",
  303: "See Other",
  304: "Not Modified",
  307: "Temporary Redirect",
  308: "Permanent Redirect",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  406: "Not Acceptable",
  408: "Request Timeout",
  409: "Conflict",
  410: "Gone",
  411: "Length Required",
  413: "Content Too Large",
  414: "URI Too Long",
  415: "Unsupported Media Type",
  426: "Upgrade Required",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
  505: "HTTP Version Not Supported",
};

export function reasonPhrase(status: number): string {
  return REASONS[status] ?? "";
}
