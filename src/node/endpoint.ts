/**
 * `WebSocketEndpoint`: one `WSConnection` driven over one Node stream (a `net.Socket`, a
 * `tls.TLSSocket`, or any byte Duplex), with the things a Sans-I/O core leaves to its caller:
 * reading and writing the socket, timers, reassembling messages, answering pings and closes,
 * backpressure, and closing TCP when the protocol says so.
 *
 * Endpoints are usually made by `connect()`, `upgrade()` or `createWebSocketServer()`; wrap a
 * stream yourself with `new WebSocketEndpoint(socket, connection, options)` where `connection`
 * is a `WSConnection` that is still CONNECTING (a client's must have sent its Request already).
 *
 * Lifecycle (RFC 6455 §7): the endpoint closes the TCP connection when the WebSocket connection
 * is CLOSED. A server ends TCP as soon as the closing handshake completes (§7.1.1); a client
 * waits for the server to end it, then ends its side. Every wait is bounded by `closeTimeout`,
 * after which the socket is destroyed. A peer that breaks the protocol gets a close frame with
 * the core's code (1002, 1007, 1009, …) and the TCP connection is ended at once (§7.1.7).
 *
 * Backpressure: reading stops (`socket.pause()`) while a 'message' listener's promise is
 * pending, while more than `highWaterMark` bytes wait in the socket's write buffer, while a
 * server's `handleRequest` decision is pending, and between `pause()` and `resume()`. Already
 * received bytes stay in the core, which parses lazily, so no message is delivered while reading
 * is stopped. Pausing on the write buffer is what makes an echo or proxy loop safe against a
 * peer that does not read; two peers that both write without ever reading can still fill each
 * other's buffers (set `highWaterMark: Infinity` on an endpoint that must keep reading whatever
 * it has queued). Once our close frame is sent, or the socket is closed, listeners' promises
 * and the write buffer no longer stop reading: the peer's close frame must be read for the
 * closing handshake to finish (a listener may well `await endpoint.closed`), and what is left
 * is delivered before 'close'.
 */
import { EventEmitter } from "node:events";
import type { Duplex } from "node:stream";
import type { Extension } from "../../codec/extension.js";
import type { Headers } from "../../codec/headers.js";
import { ConnectionState, ConnectionType } from "../constants.js";
import type { WSConnection } from "../connection.js";
import { RemoteProtocolError } from "../errors.js";
import {
  AcceptConnection,
  BytesMessage,
  CloseConnection,
  Ping,
  Pong,
  RejectConnection,
  RejectData,
  Request,
  TextMessage,
  type Event,
} from "../events.js";
import { ConnectionClosedError, HandshakeRejectedError, PeerProtocolError, TimeoutError } from "./errors.js";
import { concatBytes } from "../../codec/bytes.js";

/** A server's answer to an upgrade request. */
export type HandshakeDecision =
  | AcceptConnection
  | RejectConnection
  | { statusCode: number; headers?: Headers; body?: string | Uint8Array };

/** Server: decides whether to accept a request; may be asynchronous (reading stops meanwhile). */
export type RequestHandler = (request: Request, endpoint: WebSocketEndpoint) => HandshakeDecision | Promise<HandshakeDecision>;

export interface EndpointOptions {
  /** Answer every ping with a pong (default true). 'ping' is emitted either way. */
  autoPong?: boolean;
  /**
   * Answer the peer's close frame with the same code (default true). When false, listen for
   * 'closing' and call `close()` yourself; `closeTimeout` still bounds the wait.
   */
  autoCloseReply?: boolean;
  /** Milliseconds to wait for the peer's close frame, or for TCP to end after the closing handshake (default 5000). */
  closeTimeout?: number;
  /** Milliseconds for the opening handshake (default 10000; 0: no limit). */
  handshakeTimeout?: number;
  /**
   * Stop reading while a 'message' listener's returned promise is pending (default true). A
   * listener that awaits later input of the same connection (its next message) must not be
   * awaited: set false, or do not return that promise.
   */
  awaitMessageListeners?: boolean;
  /** Reading pauses while more than this many bytes wait to be written (default 4 MiB). */
  highWaterMark?: number;
  /** Server: the decision on the upgrade request (default: accept, no subprotocol, no extensions). */
  handleRequest?: RequestHandler;
}

/** How the connection ended, as the 'close' event and `closed` report it. */
export interface CloseInfo {
  /** The peer's close code, 1005 when its close frame had none, 1006 when none arrived; a failure's own code. */
  code: number;
  reason: string;
  /** Both close frames were exchanged (the closing handshake completed), as a browser's CloseEvent.wasClean. */
  wasClean: boolean;
}

export interface WebSocketEndpointEvents {
  /** The opening handshake completed; `protocol` and `extensions` are set. */
  open: [];
  /** A whole message: text as a string, binary as a Uint8Array. A returned promise pauses reading until it settles. */
  message: [data: string | Uint8Array, isBinary: boolean];
  ping: [payload: Uint8Array];
  pong: [payload: Uint8Array];
  /** The peer's close frame arrived (before the reply, when `autoCloseReply` is off). */
  closing: [code: number, reason: string];
  /** The TCP connection is closed; emitted once, last. */
  close: [code: number, reason: string, wasClean: boolean];
  /**
   * Something went wrong: a rejected or invalid handshake, a timeout, a peer's protocol violation,
   * a socket error, a message listener's rejected promise. Emitted only while someone listens
   * (a network peer should not be able to crash a process without an 'error' listener); the
   * 'close' event follows whenever the error ends the connection.
   */
  error: [error: Error];
  /** The top-level state of the connection changed (the statechart's; see also `connection.actor`). */
  state: [state: ConnectionState, previous: ConnectionState];
  /** The socket's write buffer drained after `send` returned false. */
  drain: [];
}

const DEFAULT_CLOSE_TIMEOUT = 5_000;
const DEFAULT_HANDSHAKE_TIMEOUT = 10_000;
const DEFAULT_HIGH_WATER_MARK = 4 * 1024 * 1024;
const ABNORMAL = 1006;
const EMPTY = new Uint8Array(0);

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function";
}

function toBytes(data: string | Uint8Array): Uint8Array {
  return typeof data === "string" ? new TextEncoder().encode(data) : data;
}

export class WebSocketEndpoint extends EventEmitter<WebSocketEndpointEvents> {
  /** The Sans-I/O connection; `connection.actor` is its statechart actor (subscribe to watch it). */
  readonly connection: WSConnection;
  readonly socket: Duplex;
  readonly role: ConnectionType;
  private negotiatedProtocol: string | null = null;
  private negotiatedExtensions: readonly Extension[] = [];
  private receivedRequest: Request | null = null;
  /** Resolves (never rejects) when the 'close' event is emitted. */
  readonly closed: Promise<CloseInfo>;

  private readonly autoPong: boolean;
  private readonly autoCloseReply: boolean;
  private readonly closeTimeout: number;
  private readonly highWaterMark: number;
  private readonly handleRequest: RequestHandler | null;
  private readonly awaitMessageListeners: boolean;

  private resolveClosed!: (info: CloseInfo) => void;
  private iterator: Generator<Event, void, undefined> | null = null;
  private pumping = false;
  private lastState: ConnectionState;

  // Why reading is stopped (see the header comment).
  private pendingHandlers = 0;
  private awaitingDecision = false;
  private deferredAfterOpen = false;
  private writeBlocked = false;
  private pausedByApplication = false;
  /** The socket is paused because of one of the above (so ours to resume). */
  private socketPaused = false;

  // A message being reassembled.
  private textParts: string[] = [];
  private binaryParts: Uint8Array[] = [];

  // A rejection being read (client).
  private rejection: RejectConnection | null = null;
  private rejectionBody: Uint8Array[] = [];

  // How it ended.
  private closeFrameSent = false;
  private closeFrameReceived = false;
  private closeCode: number | null = null;
  private closeReason = "";
  /** The peer broke the protocol once open (RFC 6455 §7.1.7). */
  private failed = false;
  private wasOpened = false;
  /** An error already explains why the handshake did not complete. */
  private handshakeErrorReported = false;
  /** The state before the connection became CLOSED (to tell a handshake cut short). */
  private lastStateBeforeClose: ConnectionState = ConnectionState.CONNECTING;
  /** The close timer now bounds the wait for TCP to end (not for the peer's close frame). */
  private closingTransport = false;
  private eofFed = false;
  private transportClosed = false;
  private closeEmitted = false;
  private handshakeTimer: NodeJS.Timeout | null = null;
  private closeTimer: NodeJS.Timeout | null = null;

  constructor(socket: Duplex, connection: WSConnection, options: EndpointOptions = {}) {
    super();
    this.socket = socket;
    this.connection = connection;
    this.role = connection.role;
    this.autoPong = options.autoPong ?? true;
    this.autoCloseReply = options.autoCloseReply ?? true;
    this.closeTimeout = options.closeTimeout ?? DEFAULT_CLOSE_TIMEOUT;
    this.highWaterMark = options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
    this.handleRequest = options.handleRequest ?? null;
    this.awaitMessageListeners = options.awaitMessageListeners ?? true;
    this.lastState = connection.state;
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });

    const handshakeTimeout = options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
    if (connection.state === ConnectionState.CONNECTING && handshakeTimeout > 0) {
      this.handshakeTimer = setTimeout(() => {
        this.handshakeTimer = null;
        if (this.connection.state !== ConnectionState.CONNECTING) return;
        this.reportError(new TimeoutError("handshake", handshakeTimeout));
        this.socket.destroy();
      }, handshakeTimeout);
      this.handshakeTimer.unref();
    }

    // Latency matters more than packet count for a message protocol (ws does the same).
    const maybeNet = socket as Duplex & { setNoDelay?: (noDelay: boolean) => unknown };
    if (typeof maybeNet.setNoDelay === "function") maybeNet.setNoDelay(true);

    socket.on("data", this.onData);
    socket.on("end", this.onEnd);
    socket.on("close", this.onSocketClose);
    socket.on("error", this.onSocketError);
    socket.on("drain", this.onDrain);
    // A socket handed over by node:http after 'upgrade' may have been left paused.
    socket.resume();
    // Read what the connection already holds (a request passed to initiateUpgradeConnection, the
    // bytes after it) once the creator has attached its listeners.
    process.nextTick(() => this.pump());
  }

  /** The subprotocol the handshake settled on (null: none, or not open yet). */
  get protocol(): string | null {
    return this.negotiatedProtocol;
  }

  /** The extensions the handshake enabled (empty until open). */
  get extensions(): readonly Extension[] {
    return this.negotiatedExtensions;
  }

  /** Server: the upgrade request the client sent (target, host, headers, offers); null on a client. */
  get request(): Request | null {
    return this.receivedRequest;
  }

  /** The top-level state of the connection (the statechart's). */
  get state(): ConnectionState {
    return this.connection.state;
  }

  /** Bytes queued in the socket and not yet handed to the kernel. */
  get bufferedAmount(): number {
    return this.socket.writableLength;
  }

  /**
   * Send a whole message: a string as text, bytes as binary. Returns false when the socket's
   * buffer is full (wait for 'drain' before sending much more) or the socket is gone. Throws
   * LocalProtocolError when the connection cannot send messages (not OPEN).
   */
  send(data: string | Uint8Array): boolean {
    return this.sendFragment(data, true);
  }

  /**
   * Send one frame of a message; `final` false leaves the message open for more fragments of
   * the same kind (RFC 6455 §5.4). Control frames may be sent between fragments.
   */
  sendFragment(data: string | Uint8Array, final: boolean): boolean {
    let event: Event;
    if (typeof data === "string") event = new TextMessage({ data, messageFinished: final });
    else if (data instanceof Uint8Array) event = new BytesMessage({ data, messageFinished: final });
    else throw new TypeError(`send() takes a string or a Uint8Array, not ${typeof data}`);
    return this.write(this.connection.send(event));
  }

  ping(payload: string | Uint8Array = EMPTY): boolean {
    return this.write(this.connection.send(new Ping({ payload: toBytes(payload) })));
  }

  pong(payload: string | Uint8Array = EMPTY): boolean {
    return this.write(this.connection.send(new Pong({ payload: toBytes(payload) })));
  }

  /**
   * Start (or, after the peer's close with `autoCloseReply` off, finish) the closing handshake.
   * Before the connection is open this aborts it (the socket is destroyed). Does nothing once
   * a close frame was sent. Throws LocalProtocolError for a code the RFC forbids on the wire.
   */
  close(code: number = 1000, reason?: string): void {
    const state = this.connection.state;
    if (state === ConnectionState.OPEN || state === ConnectionState.REMOTE_CLOSING) {
      if (this.closeFrameSent) return;
      const bytes = this.connection.send(new CloseConnection({ code, reason: reason ?? null }));
      this.closeFrameSent = true;
      this.write(bytes);
      this.noteState();
      if (this.connection.state !== ConnectionState.CLOSED) this.startCloseTimer();
      // Reading may have been stopped (a pending listener, a full write buffer): it goes on now,
      // since the peer's close frame must be read. The pump also closes TCP once CLOSED.
      this.pump();
      return;
    }
    if (state === ConnectionState.CONNECTING || state === ConnectionState.REJECTING) {
      this.socket.destroy();
    }
  }

  /**
   * Stop reading: no more messages (or any event) are delivered, and the socket is paused, until
   * `resume()`. The peer's writes then back up in TCP.
   */
  pause(): void {
    this.pausedByApplication = true;
    this.updateFlow();
  }

  /** Read again after `pause()`; whatever arrived meanwhile is delivered first. */
  resume(): void {
    if (!this.pausedByApplication) return;
    this.pausedByApplication = false;
    this.pump();
  }

  /** True while reading is stopped, for whatever reason (see the header comment). */
  get isPaused(): boolean {
    return this.isBlocked();
  }

  /** Destroy the socket now, without a closing handshake. */
  terminate(): void {
    this.socket.destroy();
  }

  // -- socket events ----------------------------------------------------------------------------

  private readonly onData = (chunk: Uint8Array): void => {
    // After the end, the peer's bytes mean nothing (RFC 6455 §7.1.1: nothing after the close).
    if (this.connection.state === ConnectionState.CLOSED) return;
    try {
      this.connection.receiveData(chunk);
    } catch (error) {
      if (error instanceof RemoteProtocolError) {
        this.handshakeFailed(error);
        return;
      }
      throw error;
    }
    this.noteState();
    this.pump();
  };

  private readonly onEnd = (): void => {
    this.feedEof();
    this.pump();
  };

  private readonly onSocketClose = (): void => {
    this.transportClosed = true;
    this.writeBlocked = false; // nothing will drain any more
    this.clearTimers();
    this.feedEof();
    this.pump();
  };

  private readonly onSocketError = (error: Error): void => {
    // 'close' follows; the error is only news.
    this.reportError(error);
  };

  private readonly onDrain = (): void => {
    if (this.writeBlocked && this.socket.writableLength <= this.highWaterMark) {
      this.writeBlocked = false;
      this.pump();
    }
    this.emit("drain");
  };

  private feedEof(): void {
    if (this.eofFed) return;
    this.eofFed = true;
    this.connection.receiveData(null);
    this.noteState();
  }

  // -- reading ----------------------------------------------------------------------------------

  private isBlocked(): boolean {
    // One turn of the event loop after 'open', and while a server decides: always.
    if (this.awaitingDecision || this.deferredAfterOpen) return true;
    // Once the transport is gone, what is left is delivered, so that 'close' can follow.
    if (this.transportClosed) return false;
    if (this.pausedByApplication) return true;
    // Once our close frame is out, the peer's close frame must be read whatever the listeners
    // are waiting for (a listener that awaits `closed` would otherwise wait forever).
    if (this.closeFrameSent) return false;
    return (this.awaitMessageListeners && this.pendingHandlers > 0) || this.writeBlocked;
  }

  /** Hand out the connection's events until it has none or reading must stop. */
  private pump(): void {
    if (this.pumping) return; // the running loop sees whatever changed
    this.pumping = true;
    try {
      while (!this.isBlocked()) {
        if (this.iterator === null) this.iterator = this.connection.events();
        const next = this.iterator.next();
        this.noteState();
        if (next.done === true) {
          this.iterator = null;
          break;
        }
        this.handle(next.value);
      }
    } finally {
      this.pumping = false;
    }
    this.updateFlow();
    this.settle();
  }

  private updateFlow(): void {
    if (this.transportClosed) return;
    const blocked = this.isBlocked();
    if (blocked && !this.socketPaused) {
      this.socketPaused = true;
      this.socket.pause();
    } else if (!blocked && this.socketPaused) {
      this.socketPaused = false;
      this.socket.resume();
    }
  }

  private handle(event: Event): void {
    if (event instanceof TextMessage) {
      if (!event.messageFinished) this.textParts.push(event.data);
      else if (this.textParts.length === 0) this.deliver(event.data, false);
      else {
        this.textParts.push(event.data);
        const text = this.textParts.join("");
        this.textParts = [];
        this.deliver(text, false);
      }
    } else if (event instanceof BytesMessage) {
      if (!event.messageFinished) this.binaryParts.push(event.data);
      else if (this.binaryParts.length === 0) this.deliver(event.data, true);
      else {
        this.binaryParts.push(event.data);
        // Connections made by this entry assemble messages themselves (assembleMessages); one
        // made by the caller may hand out pieces. Buffer.concat allocates without zero-filling.
        const bytes: Uint8Array = Buffer.concat(this.binaryParts);
        this.binaryParts = [];
        this.deliver(bytes, true);
      }
    } else if (event instanceof Ping) {
      if (this.autoPong && this.connection.state === ConnectionState.OPEN) this.write(this.connection.send(event.response()));
      this.emit("ping", event.payload);
    } else if (event instanceof Pong) {
      this.emit("pong", event.payload);
    } else if (event instanceof CloseConnection) {
      this.onCloseEvent(event);
    } else if (event instanceof Request) {
      this.onRequest(event);
    } else if (event instanceof AcceptConnection) {
      this.opened(event.subprotocol, event.extensions);
    } else if (event instanceof RejectConnection) {
      this.rejection = event;
      if (!event.hasBody) this.rejected();
    } else if (event instanceof RejectData) {
      this.rejectionBody.push(event.data);
      if (event.bodyFinished) this.rejected();
    }
  }

  /** Emit 'message' by hand, to see the listeners' promises (EventEmitter drops return values). */
  private deliver(data: string | Uint8Array, isBinary: boolean): void {
    for (const listener of this.rawListeners("message")) {
      const result: unknown = (listener as (data: string | Uint8Array, isBinary: boolean) => unknown).call(this, data, isBinary);
      if (isPromiseLike(result)) {
        this.pendingHandlers++;
        const settled = (): void => {
          this.pendingHandlers--;
          this.pump();
        };
        result.then(settled, (error: unknown) => {
          settled();
          this.reportError(error instanceof Error ? error : new Error(String(error)));
        });
      }
    }
  }

  // -- the opening handshake --------------------------------------------------------------------

  private onRequest(request: Request): void {
    this.receivedRequest = request;
    let decision: HandshakeDecision | Promise<HandshakeDecision>;
    try {
      decision = this.handleRequest === null ? new AcceptConnection() : this.handleRequest(request, this);
    } catch (error) {
      this.decisionFailed(error);
      return;
    }
    if (!isPromiseLike(decision)) {
      this.applyDecision(decision);
      return;
    }
    this.awaitingDecision = true;
    Promise.resolve(decision).then(
      (settled) => {
        this.awaitingDecision = false;
        this.applyDecision(settled);
        this.pump();
      },
      (error: unknown) => {
        this.awaitingDecision = false;
        this.decisionFailed(error);
        this.pump();
      },
    );
  }

  private applyDecision(decision: HandshakeDecision): void {
    if (this.connection.state !== ConnectionState.CONNECTING) return; // the client went away meanwhile
    if (decision instanceof AcceptConnection) {
      let bytes: Uint8Array;
      try {
        bytes = this.connection.send(decision);
      } catch (error) {
        this.decisionFailed(error);
        return;
      }
      this.write(bytes);
      this.noteState();
      this.opened(decision.subprotocol, decision.extensions);
      return;
    }
    if (decision instanceof RejectConnection) {
      this.reject(decision, null);
      return;
    }
    const body = decision.body === undefined ? null : toBytes(decision.body);
    this.reject(new RejectConnection({ statusCode: decision.statusCode, headers: decision.headers ?? [], hasBody: body !== null }), body);
  }

  /** The application's handler threw or asked for something invalid: 500, and say why. */
  private decisionFailed(error: unknown): void {
    this.reportError(error instanceof Error ? error : new Error(String(error)));
    if (this.connection.state === ConnectionState.CONNECTING) this.reject(new RejectConnection({ statusCode: 500 }), null);
  }

  private reject(rejection: RejectConnection, body: Uint8Array | null): void {
    this.reportError(new HandshakeRejectedError(rejection.statusCode, rejection.headers, body ?? EMPTY));
    this.write(this.connection.send(rejection));
    if (body !== null) this.write(this.connection.send(new RejectData({ data: body, bodyFinished: true })));
    this.noteState();
    this.clearHandshakeTimer();
    this.socket.end();
    this.startCloseTimer();
  }

  private opened(protocol: string | null, extensions: readonly Extension[]): void {
    this.clearHandshakeTimer();
    this.wasOpened = true;
    this.negotiatedProtocol = protocol;
    this.negotiatedExtensions = extensions;
    // Messages that came with the handshake wait one turn of the event loop, so that whoever
    // awaits the open endpoint (a promise continuation) can attach its listeners first.
    this.deferredAfterOpen = true;
    setImmediate(() => {
      this.deferredAfterOpen = false;
      this.pump();
    });
    this.emit("open");
  }

  private rejected(): void {
    const rejection = this.rejection!;
    this.reportError(new HandshakeRejectedError(rejection.statusCode, rejection.headers, concatBytes(this.rejectionBody)));
    this.rejectionBody = [];
    this.socket.destroy();
  }

  private handshakeFailed(error: RemoteProtocolError): void {
    this.noteState();
    this.clearHandshakeTimer();
    this.reportError(error);
    if (this.role === ConnectionType.SERVER && error.eventHint !== null && this.connection.state !== ConnectionState.CLOSED) {
      try {
        this.write(this.connection.send(error.eventHint));
      } catch {
        // The hint could not be sent in this state: there is nothing more to say to this peer.
      }
      this.noteState();
      this.socket.end();
      this.startCloseTimer();
    } else {
      this.socket.destroy();
    }
  }

  // -- the closing handshake --------------------------------------------------------------------

  private onCloseEvent(event: CloseConnection): void {
    const state = this.connection.state;
    const reason = event.reason ?? "";
    if (state === ConnectionState.REMOTE_CLOSING) {
      // The peer started the closing handshake (RFC 6455 §7.1.3); we owe it our close frame.
      this.closeFrameReceived = true;
      this.closeCode = event.code;
      this.closeReason = reason;
      this.emit("closing", event.code, reason);
      if (this.autoCloseReply && this.connection.state === ConnectionState.REMOTE_CLOSING) {
        this.closeFrameSent = true;
        this.write(this.connection.send(event.response()));
        this.noteState();
      } else if (this.connection.state === ConnectionState.REMOTE_CLOSING) {
        this.startCloseTimer();
      }
      return;
    }
    if (state === ConnectionState.CLOSED) {
      if (this.eofFed && event.code === ABNORMAL) {
        // The transport ended without a closing handshake (RFC 6455 §7.1.5).
        if (this.closeCode === null) this.closeCode = ABNORMAL;
        if (this.lastStateBeforeClose === ConnectionState.CONNECTING && !this.handshakeErrorReported) {
          this.reportError(new ConnectionClosedError("the connection closed before the WebSocket handshake completed"));
        }
        return;
      }
      // The peer's answer to our close frame (RFC 6455 §7.1.2).
      this.closeFrameReceived = true;
      this.closeCode = event.code;
      this.closeReason = reason;
      this.emit("closing", event.code, reason);
      return;
    }
    // OPEN or LOCAL_CLOSING with a failure: the peer broke the protocol (RFC 6455 §7.1.7). Send
    // the close frame the core chose (if ours is not out yet) and end the TCP connection.
    this.failed = true;
    this.closeCode = event.code;
    this.closeReason = reason;
    if (state === ConnectionState.OPEN && !this.closeFrameSent) {
      this.closeFrameSent = true;
      this.write(this.connection.send(event.response()));
      this.noteState();
    }
    this.reportError(new PeerProtocolError(event.code, reason));
    this.socket.end();
    this.startCloseTimer();
  }

  /**
   * Once the WebSocket connection is CLOSED, close TCP as the RFC says; once TCP is closed too
   * and no message is still being handled, emit 'close'.
   */
  private settle(): void {
    if (this.connection.state !== ConnectionState.CLOSED) return;
    if (!this.transportClosed) {
      if (this.eofFed || this.role === ConnectionType.SERVER || this.failed) {
        // The peer ended its side, or we are the server (RFC 6455 §7.1.1: the server closes TCP first).
        if (!this.socket.writableEnded) this.socket.end();
      }
      // A client waits for the server's FIN ('end'); everyone waits at most closeTimeout from here.
      if (!this.closingTransport) {
        this.closingTransport = true;
        if (this.closeTimer !== null) clearTimeout(this.closeTimer);
        this.closeTimer = null;
        this.startCloseTimer();
      }
      return;
    }
    if (this.closeEmitted || this.isBlocked()) return;
    this.closeEmitted = true;
    this.clearTimers();
    const info: CloseInfo = {
      code: this.closeCode ?? ABNORMAL,
      reason: this.closeReason,
      wasClean: this.closeFrameSent && this.closeFrameReceived && !this.failed,
    };
    this.emit("close", info.code, info.reason, info.wasClean);
    this.resolveClosed(info);
  }

  // -- writing, timers, errors ------------------------------------------------------------------

  private write(bytes: Uint8Array): boolean {
    if (bytes.length === 0) return true;
    if (!this.socket.writable) return false;
    const flushed = this.socket.write(bytes);
    if (!flushed && this.socket.writableLength > this.highWaterMark) this.writeBlocked = true;
    return flushed;
  }

  private startCloseTimer(): void {
    if (this.closeTimer !== null || this.transportClosed) return;
    this.closeTimer = setTimeout(() => {
      this.closeTimer = null;
      this.socket.destroy();
    }, this.closeTimeout);
    this.closeTimer.unref();
  }

  private clearHandshakeTimer(): void {
    if (this.handshakeTimer !== null) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = null;
  }

  private clearTimers(): void {
    this.clearHandshakeTimer();
    if (this.closeTimer !== null) clearTimeout(this.closeTimer);
    this.closeTimer = null;
  }

  private reportError(error: Error): void {
    if (!this.wasOpened) this.handshakeErrorReported = true;
    if (this.listenerCount("error") > 0) this.emit("error", error);
  }

  /** Emit 'state' for a change of the statechart's top-level state since the last look. */
  private noteState(): void {
    const state = this.connection.state;
    if (state === this.lastState) return;
    const previous = this.lastState;
    this.lastState = state;
    if (state === ConnectionState.CLOSED) this.lastStateBeforeClose = previous;
    this.emit("state", state, previous);
  }
}

/** Resolve when the endpoint opens; reject with its first error when it closes unopened. Internal to connect() and upgrade(). */
export function whenOpen(endpoint: WebSocketEndpoint): Promise<WebSocketEndpoint> {
  return new Promise((resolve, reject) => {
    let firstError: Error | null = null;
    const onOpen = (): void => {
      cleanup();
      resolve(endpoint);
    };
    const onError = (error: Error): void => {
      firstError ??= error;
    };
    const onClose = (): void => {
      cleanup();
      reject(firstError ?? new ConnectionClosedError("the connection closed before the WebSocket handshake completed"));
    };
    const cleanup = (): void => {
      endpoint.off("open", onOpen);
      endpoint.off("error", onError);
      endpoint.off("close", onClose);
    };
    endpoint.on("open", onOpen);
    endpoint.on("error", onError);
    endpoint.on("close", onClose);
  });
}
