/**
 * The opening handshake codec (RFC 6455 §4 over HTTP/1.1): small pure building blocks that the
 * connection statechart calls. See each module's header for its interface and decisions.
 *
 * Typical use:
 * - client: `buildUpgradeRequest(request)` → write `bytes`; push received bytes into
 *   `new HttpHeadParser({ kind: "response" })` until it returns a head; `validateUpgradeResponse(head,
 *   sent)` → accept (frames start with `parser.takeRest()`) or reject (feed `takeRest()` and later
 *   bytes, then `null` at EOF, to `body.push()` for RejectData events).
 * - server: push bytes into `new HttpHeadParser({ kind: "request" })`; `validateUpgradeRequest(head)`
 *   → Request (or RemoteProtocolError whose eventHint is the rejection to send); keep
 *   `parser.takeRest()` as the first frame bytes (README, Differences from wsproto #4); later `buildAcceptResponse` or
 *   `buildRejectResponse` (+ `body.write(RejectData)`).
 */
export {
  HttpHeadParser,
  DEFAULT_MAX_HEAD_SIZE,
  DEFAULT_MAX_HEADERS,
  type HttpHead,
  type HttpRequestHead,
  type HttpResponseHead,
  type HttpHeadParserOptions,
  type HeadKind,
  type HeadOf,
} from "./http-head.js";
export { buildUpgradeRequest, checkUpgradeRequest, validateUpgradeResponse, type UpgradeRequest, type UpgradeResponse } from "./client.js";
export {
  RFC8441_PROTOCOL,
  buildExtendedConnect,
  buildExtendedConnectResponse,
  validateExtendedConnect,
  validateExtendedConnectResponse,
  type ExtendedConnectRequest,
} from "./http2.js";
export {
  validateUpgradeRequest,
  validateUpgradeRequestHeaders,
  buildAcceptResponse,
  buildRejectResponse,
  checkAcceptResponse,
  rejectFraming,
  WEBSOCKET_VERSION,
} from "./server.js";
export {
  RejectBodyReader,
  RejectBodyWriter,
  responseBodyFraming,
  parseContentLength,
  type BodyFraming,
  type BodyWriterFraming,
  type RejectBodyReaderOptions,
} from "./body.js";
export { generateNonce, generateAcceptToken, isValidKey, toBase64, WEBSOCKET_GUID } from "./tokens.js";
export { decodeLatin1, encodeLatin1 } from "./latin1.js";
