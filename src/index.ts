/** wsmachine's public entry point: wsproto's API in TypeScript (the README shows it in use). */
export { ConnectionType, ConnectionState, CloseReason } from "../codec/constants.js";
export { ProtocolError, LocalProtocolError, RemoteProtocolError } from "../codec/errors.js";
export {
  Event,
  Request,
  AcceptConnection,
  RejectConnection,
  RejectData,
  CloseConnection,
  Message,
  TextMessage,
  TextBytesMessage,
  BytesMessage,
  Ping,
  Pong,
  type WebSocketEvent,
  type WebSocketEventType,
  type PingPongFields,
  type MessageFields,
  type CloseConnectionFields,
  type RequestFields,
  type AcceptConnectionFields,
  type RejectConnectionFields,
  type RejectDataFields,
} from "../codec/events.js";
export { WSConnection, Connection, type ConnectionOptions, type FramesOnlyOptions } from "./connection.js";
export { acceptsSend, persistConnection, restoreConnection, sendRefusal, type PersistedSnapshot, type RestoreConnectionInput } from "../machines/connection-snapshot.js";
export { connectionMachine, ConnectionTag, topLevelState, type ConnectionMachineInput, type ConnectionMachineEvent, type ConnectionMachineEmitted, type ConnectionActor, type PersistedConnectionContext } from "../machines/connection-machine.js";
export type { FrameTrace, FrameTraceRecord, PersistedProtocolCore } from "../codec/core/protocol-core.js";
export { generateNonce, generateAcceptToken } from "../codec/handshake/tokens.js";
export { PerMessageDeflate, type PerMessageDeflateOptions, type NegotiatedParameters } from "./extensions/permessage-deflate.js";
export { pakoEngine, InflateError, type DeflateEngine, type Deflater, type Inflater } from "./extensions/deflate-engine.js";
export type { Extension } from "../codec/extension.js";
export type { RsvBits } from "../codec/frame.js";
export type { Headers } from "../codec/events.js";
export { MemoryBudget, MemoryAccount } from "../codec/memory-budget.js";
export { isUtf8, setUtf8Validator } from "../codec/utf8-validation.js";
export { replayTrace, type ReplayOptions, type ReplayResult, type ReplayStep } from "./trace/replay.js";
export { traceLine, parseTrace, eventJson, type TraceLine, type EventJson, type BytesJson, type ExtensionJson, type LineOptions } from "./trace/json.js";
export type { TraceEntry, TraceRecorder, TraceLimits, TraceError } from "./trace/entries.js";
export type { Entropy } from "../codec/core/protocol-core.js";
