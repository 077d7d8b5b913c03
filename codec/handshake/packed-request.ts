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
 * Packing the same Request twice gives the same string (a WeakMap remembers it while the
 * Request lives), so the endpoint and the core it drives share one copy.
 *
 * Layout: host, target, the number of subprotocols, the subprotocols, the number of extension
 * offers, the offers, then each extra header's name and value.
 */
import { Request, type Headers } from "../events.js";

const SEPARATOR = "\n";
const NONE: readonly string[] = Object.freeze([]);
const packedOf = new WeakMap<Request, string>();

export function packRequest(request: Request): string | null {
  const known = packedOf.get(request);
  if (known !== undefined) return known;
  const parts: string[] = [request.host, request.target, String(request.subprotocols.length), ...request.subprotocols];
  parts.push(String(request.extensions.length));
  for (const offer of request.extensions) {
    // A received request's offers are strings; a Request holding Extension objects is a client's.
    if (typeof offer !== "string") return null;
    parts.push(offer);
  }
  for (const [name, value] of request.extraHeaders) parts.push(name, value);
  for (const part of parts) if (typeof part !== "string" || part.includes(SEPARATOR)) return null;
  const packed = parts.join(SEPARATOR);
  packedOf.set(request, packed);
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
  for (; at + 1 < parts.length; at += 2) extraHeaders.push([parts[at]!, parts[at + 1]!]);
  return new Request({
    host: parts[0]!,
    target: parts[1]!,
    subprotocols: subprotocols.length === 0 ? NONE : subprotocols,
    extensions: extensions.length === 0 ? NONE : extensions,
    extraHeaders,
  });
}
