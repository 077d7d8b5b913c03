/**
 * `wsmachine/node`: Node glue for the Sans-I/O core. The only part of the package that imports
 * node:* modules; everything else runs unchanged in browsers and other runtimes.
 */
export {
  WebSocketEndpoint,
  type EndpointOptions,
  type WebSocketEndpointEvents,
  type CloseInfo,
  type HandshakeDecision,
  type RequestHandler,
} from "./endpoint.js";
export { connect, type ConnectOptions } from "./client.js";
export {
  upgrade,
  createWebSocketServer,
  SERVER_DEFAULTS,
  WebSocketServer,
  acceptRequest,
  headersFromRaw,
  type ServerOptions,
  type WebSocketServerOptions,
  type WebSocketServerEvents,
} from "./server.js";
export { HandshakeRejectedError, TimeoutError, ConnectionClosedError, PeerProtocolError } from "./errors.js";
export { nativeMasker, useNativeMasker, type NativeMasker } from "./native-masker.js";
export { nodeZlibEngine } from "./zlib-engine.js";
export { uninitializedAllocator, useUninitializedAllocator } from "./allocator.js";
export { nodePerMessageDeflate, useNodeAccelerations } from "./defaults.js";
export {
  Http2WebSocketServer,
  createHttp2WebSocketServer,
  toHttp2Headers,
  type Http2WebSocketServerOptions,
  type Http2WebSocketServerEvents,
  type Http2RequestInfo,
} from "./http2.js";
export { connectHttp2, type Http2ConnectOptions } from "./http2-client.js";
