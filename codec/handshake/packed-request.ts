/**
 * A received upgrade `Request` as one string and back, for the connection's life after the
 * handshake (issue 19, bench:e2e R1). A Request as parsed is a dozen objects: the event, its
 * lists, one array per header pair, and values sliced out of the request head, which keep the
 * whole head string alive. An open connection only needs the request again if the application
 * (`endpoint.request`) or persistence asks for it, so the endpoint and the protocol core keep it
 * packed: its fields joined by LF, which no field of a valid request contains (header values,
 * the target, subprotocols and extension offers cannot hold CR or LF, RFC 9110 §5.5).
 *
 * ```ts
 * packRequest(request: Request): string | null   // null: a field holds LF or an extension object
 * unpackRequest(packed: string): Request          // a new Request equal to the packed one
 * ```
 *
 * Packing the same Request twice in a row gives the same string, so the endpoint and the core it
 * drives, which pack it one after the other when the connection opens, share one copy. (One
 * entry, weakly held, rather than a WeakMap: a WeakMap's table grows with the connections opened
 * at once and stays that large after its entries died, bench:e2e R1.)
 *
 * Layout: host, target, the number of subprotocols, the subprotocols, the number of extension
 * offers, the offers, then each extra header's name and value. A name of COMMON_NAMES is the one
 * control character for its place in the list (a field name is tchars, so never one): the four
 * names every upgrade request has, and the ones browsers send, cost a character each.
 */
import { Request, type Headers } from "../events.js";

const SEPARATOR = "\n";
/** At most 31 names (the control characters from U+0001, LF excepted). */
const COMMON_NAMES = [
  "upgrade",
  "connection",
  "sec-websocket-key",
  "sec-websocket-version",
  "origin",
  "user-agent",
  "accept-encoding",
  "accept-language",
  "cache-control",
  "pragma",
  "cookie",
  "authorization",
  "accept",
  "x-forwarded-for",
  "x-forwarded-proto",
  "x-real-ip",
  "forwarded",
  "referer",
];
const CODE_OF = new Map<string, string>();
COMMON_NAMES.forEach((name, index) => CODE_OF.set(name, String.fromCharCode(index >= 9 ? index + 2 : index + 1)));
const NAME_OF = new Map<string, string>([...CODE_OF].map(([name, code]) => [code, name]));
const NONE: readonly string[] = Object.freeze([]);
let lastPacked: { request: WeakRef<Request>; packed: string } | null = null;

export function packRequest(request: Request): string | null {
  if (lastPacked !== null && lastPacked.request.deref() === request) return lastPacked.packed;
  const parts: string[] = [request.host, request.target, String(request.subprotocols.length), ...request.subprotocols];
  parts.push(String(request.extensions.length));
  for (const offer of request.extensions) {
    // A received request's offers are strings; a Request holding Extension objects is a client's.
    if (typeof offer !== "string") return null;
    parts.push(offer);
  }
  for (const part of parts) if (typeof part !== "string" || part.includes(SEPARATOR)) return null;
  for (const [name, value] of request.extraHeaders) {
    if (typeof name !== "string" || typeof value !== "string" || value.includes(SEPARATOR)) return null;
    const code = CODE_OF.get(name);
    // Not packed: a name holding LF, or one that would read back as a common name's code.
    if (code === undefined && (name.includes(SEPARATOR) || NAME_OF.has(name))) return null;
    parts.push(code ?? name, value);
  }
  const packed = parts.join(SEPARATOR);
  lastPacked = { request: new WeakRef(request), packed };
  return packed;
}

export function unpackRequest(packed: string): Request {
  const parts = packed.split(SEPARATOR);
  let at = 2;
  const take = (): string[] => {
    const count = Number(parts[at]);
    const list = parts.slice(at + 1, at + 1 + count);
    at += 1 + count;
    return list;
  };
  const subprotocols = take();
  const extensions = take();
  const extraHeaders: Headers = [];
  for (; at + 1 < parts.length; at += 2) {
    const name = parts[at]!;
    extraHeaders.push([(name.length === 1 ? NAME_OF.get(name) : undefined) ?? name, parts[at + 1]!]);
  }
  return new Request({
    host: parts[0]!,
    target: parts[1]!,
    subprotocols: subprotocols.length === 0 ? NONE : subprotocols,
    extensions: extensions.length === 0 ? NONE : extensions,
    extraHeaders,
  });
}
