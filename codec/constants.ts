/**
 * Enumerations of the public API (see the README). Each is a frozen object plus a
 * union type of its values, rather than a TypeScript `enum`, so that the values are plain
 * strings and numbers at run time and users can compare them with literals.
 */

/** Which side of the connection this endpoint plays. */
export const ConnectionType = Object.freeze({
  CLIENT: "client",
  SERVER: "server",
} as const);
export type ConnectionType = (typeof ConnectionType)[keyof typeof ConnectionType];

/**
 * The lifecycle of a connection (RFC 6455 §4, §7). Each value is the string of its name and
 * is also the name of the matching top-level state of the connection statechart.
 */
export const ConnectionState = Object.freeze({
  CONNECTING: "CONNECTING",
  OPEN: "OPEN",
  REMOTE_CLOSING: "REMOTE_CLOSING",
  LOCAL_CLOSING: "LOCAL_CLOSING",
  CLOSED: "CLOSED",
  REJECTING: "REJECTING",
} as const);
export type ConnectionState = (typeof ConnectionState)[keyof typeof ConnectionState];

/** Close status codes (RFC 6455 §7.4.1, IANA "WebSocket Close Code Number Registry"). */
export const CloseReason = Object.freeze({
  NORMAL_CLOSURE: 1000,
  GOING_AWAY: 1001,
  PROTOCOL_ERROR: 1002,
  UNSUPPORTED_DATA: 1003,
  NO_STATUS_RCVD: 1005,
  ABNORMAL_CLOSURE: 1006,
  INVALID_FRAME_PAYLOAD_DATA: 1007,
  POLICY_VIOLATION: 1008,
  MESSAGE_TOO_BIG: 1009,
  MANDATORY_EXT: 1010,
  INTERNAL_ERROR: 1011,
  SERVICE_RESTART: 1012,
  TRY_AGAIN_LATER: 1013,
  TLS_HANDSHAKE_FAILED: 1015,
} as const);
export type CloseReason = (typeof CloseReason)[keyof typeof CloseReason];

/** Default `maxMessageSize`: 64 MiB, counted after decompression. */
export const DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024 * 1024;

/**
 * Default `maxFragments`: frames per message (65536 lets 64-byte fragments carry 4 MiB, Autobahn
 * case 9.3.1). An application that reassembles keeps one piece per frame: this bounds that count.
 */
export const DEFAULT_MAX_FRAGMENTS = 65536;
