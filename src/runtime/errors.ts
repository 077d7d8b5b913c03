/** Errors the endpoints (Node, Deno, Bun) report (on top of the core's ProtocolError family). */
import type { Headers } from "../../codec/events.js";

/** The server answered the opening handshake with a final status other than 101. */
export class HandshakeRejectedError extends Error {
  override name = "HandshakeRejectedError";
  readonly statusCode: number;
  readonly headers: Headers;
  /** The response body (empty when it had none). */
  readonly body: Uint8Array;

  constructor(statusCode: number, headers: Headers, body: Uint8Array) {
    super(`the server rejected the WebSocket handshake with HTTP ${statusCode}`);
    this.statusCode = statusCode;
    this.headers = headers;
    this.body = body;
  }
}

/** A timer of the endpoint ran out (the core has no timers, so these live here). */
export class TimeoutError extends Error {
  override name = "TimeoutError";
  /**
   * Which wait ran out: the opening handshake (`handshakeTimeout`), the peer's silence
   * (`idleTimeout`), or one message's arrival (`messageTimeout`).
   */
  readonly phase: "handshake" | "idle" | "message";
  readonly milliseconds: number;

  constructor(phase: "handshake" | "idle" | "message", milliseconds: number) {
    super(
      phase === "handshake"
        ? `the WebSocket opening handshake did not finish within ${milliseconds} ms`
        : phase === "idle"
          ? `nothing was received from the peer for ${milliseconds} ms (idleTimeout): closing with 1001`
          : `a message did not finish arriving within ${milliseconds} ms of its start (messageTimeout): closed with 1008`,
    );
    this.phase = phase;
    this.milliseconds = milliseconds;
  }
}

/** The transport ended before the opening handshake finished. */
export class ConnectionClosedError extends Error {
  override name = "ConnectionClosedError";
}

/**
 * The peer broke the protocol once the connection was open (RFC 6455 §7.1.7): the endpoint sent
 * a close frame with `code` and closed the TCP connection.
 */
export class PeerProtocolError extends Error {
  override name = "PeerProtocolError";
  readonly code: number;

  constructor(code: number, reason: string) {
    super(`the peer broke the WebSocket protocol (close ${code}${reason === "" ? "" : `: ${reason}`})`);
    this.code = code;
  }
}
