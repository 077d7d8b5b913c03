/**
 * The Node builtins that only some users of `wsmachine/node` need, loaded on first use rather
 * than when the entry is imported. A process that imports the entry and runs a plain WebSocket
 * server (no TLS, no HTTP/2, no permessage-deflate) never loads node:tls, node:http2 or
 * node:zlib, and each stays resident once loaded (heapUsed after two full GCs, Node 20, on top of
 * the entry): node:tls ~0.5 MB, node:http2 ~0.6 MB (node:tls included), node:zlib ~0.06 MB. A
 * large resident old generation makes V8's full GCs far more frequent under heavy ArrayBuffer
 * churn (docs/performance.md, "E4 and V8's heap limit"), so what a server never uses should not
 * sit in its heap. node:http (~0.12 MB) is not loaded at all by a plain server.
 *
 * Synchronous, as the callers are (a constructor, `connect()`): `require` of a builtin returns
 * the same module object an `import` would. Types come from `import type` at each caller.
 */
import { createRequire } from "node:module";
import type * as Http2 from "node:http2";
import type * as Tls from "node:tls";
import type * as Zlib from "node:zlib";

const load = createRequire(import.meta.url);

let tlsModule: typeof Tls | undefined;
let http2Module: typeof Http2 | undefined;
let zlibModule: typeof Zlib | undefined;

/** node:tls: for wss:// (a server's `tls` option, a wss:// client). */
export function nodeTls(): typeof Tls {
  return (tlsModule ??= load("node:tls") as typeof Tls);
}

/** node:http2: for WebSockets over HTTP/2 (RFC 8441) only. */
export function nodeHttp2(): typeof Http2 {
  return (http2Module ??= load("node:http2") as typeof Http2);
}

/** node:zlib: for permessage-deflate's native compression only (./zlib-engine.ts). */
export function nodeZlib(): typeof Zlib {
  return (zlibModule ??= load("node:zlib") as typeof Zlib);
}

