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
 * A peer's timing cannot crash the process: `send`, `sendFragment`, `ping`, `pong` and `close`
 * return false, doing nothing, when the connection can no longer do what they ask (not open
 * yet, closing, closed). Only a wrong argument throws.
 *
 * Once nothing more will be read (a rejection or a close frame for a failure was sent, the
 * closing handshake completed), the endpoint stops reading the socket: Node then reads at most
 * one more buffer (64 KiB), which is enough to see a polite peer's FIN, and a peer that keeps
 * writing meets TCP backpressure until `closeTimeout` destroys the socket.
 *
 * Bounded work: received data is processed in slices of about SLICE_MILLISECONDS, and the
 * connection's decoder works through at most WORK_QUANTUM bytes (received or inflated) per
 * step, yielding to the event loop in between (setImmediate), so that one connection's huge or
 * highly compressed message does not hold up every other connection.
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
import type { Headers } from "../../codec/events.js";
import { ConnectionState, ConnectionType } from "../../codec/constants.js";
import type { WSConnection } from "../connection.js";
import { RemoteProtocolError } from "../../codec/errors.js";
import {
  AcceptConnection,
  BytesMessage,
  CloseConnection,
  Ping,
  Pong,
  RejectConnection,
  Message,
  RejectData,
  Request,
  TextMessage,
  type Event,
} from "../../codec/events.js";
import { ConnectionClosedError, HandshakeRejectedError, PeerProtocolError, TimeoutError } from "./errors.js";
import { concatBytes } from "../../codec/bytes.js";
import { buildClosePayload } from "../../codec/close.js";
import type { MemoryAccount, MemoryBudget } from "../../codec/memory-budget.js";
import { Watchdog, type WatchdogLimits } from "./watchdog.js";
import { deferTurn } from "./scheduler.js";

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
  /**
   * Milliseconds without a byte from the peer, once open, after which the connection is closed
   * with 1001 (0: never; the default, except on servers: see ServerOptions).
   */
  idleTimeout?: number;
  /**
   * Milliseconds without a byte from the peer after which a ping is sent (0: never). Its pong,
   * like any byte, counts as activity, so a live but quiet peer survives `idleTimeout`.
   */
  pingInterval?: number;
  /** Milliseconds a frame or data message may take to arrive once it started; past it: close 1008 (0: no limit). */
  messageTimeout?: number;
  /**
   * A memory budget shared with other endpoints (a server's `maxBufferedBytes`): output queued
   * beyond `highWaterMark` is reserved from it, and a write that cannot be fails the connection
   * with 1013. What the connection holds for incomplete messages is reserved from the budget given
   * to the `WSConnection` (ConnectionOptions.memoryBudget), normally the same one.
   */
  memoryBudget?: MemoryBudget;
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
const GOING_AWAY = 1001;
const POLICY_VIOLATION = 1008;
const TRY_AGAIN_LATER = 1013;
/** Bytes read and dropped after reading stopped, before the socket is left to fill (see stopReading). */
const DISCARD_LIMIT = 16 * 1024;
/** How long one pump may hand out events before it yields to the event loop. */
const SLICE_MILLISECONDS = 4;
/**
 * Bytes (received or inflated) the decoder works through per step for connections made by this
 * entry (ConnectionOptions.workQuantum): about a millisecond of inflating.
 */
export const WORK_QUANTUM = 256 * 1024;
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

  // Bounds (see the header comment).
  private readonly watchdogLimits: WatchdogLimits;
  private watchdog: Watchdog | null = null;
  /** Nothing more will be read: the socket stays paused; what still arrives is dropped. */
  private readingStopped = false;
  private discardedAfterStop = 0;
  /** A slice of work was cut short: the rest runs on the next turn of the event loop. */
  private sliceScheduled = false;
  private messagesCompleted = 0;
  /** Output queued beyond highWaterMark, charged to the memory budget. */
  private readonly outputAccount: MemoryAccount | null;

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
    this.watchdogLimits = {
      idleTimeout: options.idleTimeout ?? 0,
      pingInterval: options.pingInterval ?? 0,
      messageTimeout: options.messageTimeout ?? 0,
    };
    this.outputAccount = options.memoryBudget?.account() ?? null;
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
   * Send a whole message: a string as text, bytes as binary. Returns false when the message was
   * not sent because the connection cannot send any more (not open yet, or closing: our close
   * frame is out, or the socket is gone), and also when it was queued but the socket's buffer
   * is over `highWaterMark` (wait for 'drain' before sending much more): `state` tells which.
   * Never throws because of the connection's state or the peer's timing; throws TypeError for
   * data that is neither a string nor a Uint8Array.
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
    if (!this.canSendData()) return false;
    return this.write(this.connection.send(event));
  }

  /** Send a ping (a string is sent as its UTF-8 bytes); false, doing nothing, when not open (see `send`). */
  ping(payload: string | Uint8Array = EMPTY): boolean {
    const event = new Ping({ payload: toBytes(payload) });
    if (!this.canSendData()) return false;
    return this.write(this.connection.send(event));
  }

  /** Send an unsolicited pong (a heartbeat); false, doing nothing, when not open (see `send`). */
  pong(payload: string | Uint8Array = EMPTY): boolean {
    const event = new Pong({ payload: toBytes(payload) });
    if (!this.canSendData()) return false;
    return this.write(this.connection.send(event));
  }

  /**
   * Start (or, after the peer's close with `autoCloseReply` off, finish) the closing handshake;
   * true when a close frame was sent. Before the connection is open this aborts it (the socket
   * is destroyed; true). Returns false, doing nothing, once a close frame was sent or the
   * connection is over. Throws LocalProtocolError only for a code or reason the RFC forbids on
   * the wire (RFC 6455 §7.4), whatever the state.
   */
  close(code: number = 1000, reason?: string): boolean {
    // The caller's mistake is refused in every state (1005 is the empty close frame's code).
    if (code !== 1005) buildClosePayload(code, reason ?? "");
    const event = new CloseConnection({ code, reason: reason ?? null });
    const state = this.connection.state;
    if (state === ConnectionState.OPEN || state === ConnectionState.REMOTE_CLOSING) {
      if (this.closeFrameSent || this.failed) return false;
      const bytes = this.connection.send(event);
      this.closeFrameSent = true;
      this.watchdog?.stop();
      this.write(bytes, true);
      this.noteState();
      if (this.connection.state !== ConnectionState.CLOSED) this.startCloseTimer();
      // Reading may have been stopped (a pending listener, a full write buffer): it goes on now,
      // since the peer's close frame must be read. The pump also closes TCP once CLOSED.
      this.pump();
      return true;
    }
    if (state === ConnectionState.CONNECTING || state === ConnectionState.REJECTING) {
      if (this.socket.destroyed) return false;
      this.socket.destroy();
      return true;
    }
    return false;
  }

  /** Messages, pings and pongs may be sent: open, our close frame not out, the socket writable. */
  private canSendData(): boolean {
    return this.connection.state === ConnectionState.OPEN && !this.closeFrameSent && !this.failed && this.socket.writable;
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
    // After the end, the peer's bytes mean nothing (RFC 6455 §7.1.1: nothing after the close),
    // and once reading stopped, what Node still read before pausing is dropped.
    if (this.readingStopped) {
      this.discardedAfterStop += chunk.length;
      return;
    }
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
    this.watchdog?.activity();
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
    // The write buffer is empty: nothing is queued beyond highWaterMark any more.
    this.outputAccount?.releaseAll();
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
    // One turn of the event loop after 'open', while a server decides, and while the rest of a
    // slice of work waits for the next turn: always.
    if (this.awaitingDecision || this.deferredAfterOpen || this.sliceScheduled) return true;
    // Once the transport is gone, what is left is delivered, so that 'close' can follow.
    if (this.transportClosed) return false;
    if (this.pausedByApplication) return true;
    // Once our close frame is out, the peer's close frame must be read whatever the listeners
    // are waiting for (a listener that awaits `closed` would otherwise wait forever).
    if (this.closeFrameSent) return false;
    return (this.awaitMessageListeners && this.pendingHandlers > 0) || this.writeBlocked;
  }

  /**
   * Hand out the connection's events until it has none or reading must stop. A pump that has
   * run for SLICE_MILLISECONDS, or whose connection stopped at its work quantum, leaves the
   * rest for the next turn of the event loop, so that other connections are served meanwhile.
   */
  private pump(): void {
    if (this.pumping) return; // the running loop sees whatever changed
    this.pumping = true;
    const started = performance.now();
    try {
      while (!this.isBlocked()) {
        if (this.iterator === null) this.iterator = this.connection.events();
        const next = this.iterator.next();
        this.noteState();
        if (next.done === true) {
          this.iterator = null;
          if (this.connection.workPending) this.yieldSlice();
          break;
        }
        this.handle(next.value);
        if (performance.now() - started >= SLICE_MILLISECONDS) this.yieldSlice();
      }
    } finally {
      this.pumping = false;
    }
    this.updateFlow();
    this.settle();
  }

  /** Go on with the connection's events on the next turn of the event loop. */
  private yieldSlice(): void {
    if (this.sliceScheduled) return;
    this.sliceScheduled = true;
    deferTurn(() => {
      this.sliceScheduled = false;
      this.pump();
    });
  }

  /**
   * Nothing more will be read from this peer. The socket leaves flowing mode for good: from now
   * on it is read only by `read()` calls here, which drop what they get, up to DISCARD_LIMIT
   * bytes — enough for a polite peer's last frames and its FIN ('end', which Node emits only
   * once its buffer is empty). Past that the buffer fills, Node stops reading (one more read of
   * at most 64 KiB can land first), and a peer that keeps writing meets TCP backpressure until
   * the close timer destroys the socket.
   */
  private stopReading(): void {
    if (this.readingStopped) return;
    this.readingStopped = true;
    this.watchdog?.stop();
    if (this.transportClosed) return;
    this.socketPaused = true;
    this.socket.pause();
    // A 'readable' listener takes flow control from 'data' (which read() still emits).
    this.socket.on("readable", this.discardAfterStop);
    this.discardAfterStop();
  }

  /** Read and drop what Node holds, as long as the whole of it fits within DISCARD_LIMIT. */
  private readonly discardAfterStop = (): void => {
    while (this.socket.readableLength > 0 && this.discardedAfterStop + this.socket.readableLength <= DISCARD_LIMIT) {
      if (this.socket.read() === null) return;
    }
    // Nothing buffered: this read() lets Node notice an EOF it holds ('end').
    if (this.socket.readableLength === 0) this.socket.read(0);
  };

  private updateFlow(): void {
    if (this.transportClosed || this.readingStopped) return;
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
    if (event instanceof Message && event.messageFinished) this.messagesCompleted++;
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
      if (this.autoPong && this.connection.state === ConnectionState.OPEN) this.write(this.connection.send(event.response()), true);
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
    this.stopReading();
    this.startCloseTimer();
  }

  private opened(protocol: string | null, extensions: readonly Extension[]): void {
    this.clearHandshakeTimer();
    this.wasOpened = true;
    this.startWatchdog();
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
      this.stopReading();
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
        this.write(this.connection.send(event.response()), true);
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
      this.write(this.connection.send(event.response()), true);
      this.noteState();
    }
    this.reportError(new PeerProtocolError(event.code, reason));
    this.socket.end();
    this.stopReading();
    this.startCloseTimer();
  }

  /**
   * We fail the connection for the peer's behaviour that the protocol itself allows (a message
   * too slow, the server's memory used up): send a close frame with `code`, stop reading, end
   * TCP. EOF is fed to the connection at once, so that it reaches CLOSED and gives back what it
   * held for the unfinished message now rather than at the end of the close timer.
   */
  private failLocally(code: number, reason: string, error: Error): void {
    if (this.failed || this.readingStopped) return;
    this.failed = true;
    this.closeCode = code;
    this.closeReason = reason;
    const state = this.connection.state;
    if ((state === ConnectionState.OPEN || state === ConnectionState.REMOTE_CLOSING) && !this.closeFrameSent) {
      this.closeFrameSent = true;
      this.write(this.connection.send(new CloseConnection({ code, reason })), true);
      this.noteState();
    }
    this.reportError(error);
    this.socket.end();
    this.stopReading();
    this.startCloseTimer();
    this.feedEof();
    this.pump();
  }

  private startWatchdog(): void {
    if (!Watchdog.needed(this.watchdogLimits) || this.watchdog !== null) return;
    this.watchdog = new Watchdog(this.watchdogLimits, {
      reading: () => !this.isBlocked() && !this.socketPaused,
      messageInProgress: () => this.connection.messageInProgress,
      messagesCompleted: () => this.messagesCompleted,
      ping: () => {
        this.ping();
      },
      idle: () => {
        this.reportError(new TimeoutError("idle", this.watchdogLimits.idleTimeout));
        this.close(GOING_AWAY, "idle timeout");
      },
      messageTimedOut: () => {
        const limit = this.watchdogLimits.messageTimeout;
        this.failLocally(POLICY_VIOLATION, "message not completed within messageTimeout", new TimeoutError("message", limit));
      },
    });
    this.watchdog.start();
  }

  /**
   * Once the WebSocket connection is CLOSED, close TCP as the RFC says; once TCP is closed too
   * and no message is still being handled, emit 'close'.
   */
  private settle(): void {
    if (this.connection.state !== ConnectionState.CLOSED) return;
    this.watchdog?.stop();
    if (!this.transportClosed) {
      // The closing handshake is over (or the connection failed): nothing more will be read.
      this.stopReading();
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
    this.outputAccount?.releaseAll();
    this.emit("close", info.code, info.reason, info.wasClean);
    this.resolveClosed(info);
  }

  // -- writing, timers, errors ------------------------------------------------------------------

  /**
   * Queue bytes on the socket. Output queued beyond highWaterMark is reserved from the memory
   * budget first; when the budget refuses, the connection fails with 1013 and the bytes are not
   * queued (`unbudgeted`: the close frame that says so, which must go out regardless).
   */
  private write(bytes: Uint8Array, unbudgeted = false): boolean {
    if (bytes.length === 0) return true;
    if (!this.socket.writable) return false;
    const account = this.outputAccount;
    if (account !== null && !unbudgeted) {
      const beyond = this.socket.writableLength + bytes.length - this.highWaterMark;
      if (beyond > account.held && !account.reserve(beyond - account.held)) {
        this.failLocally(TRY_AGAIN_LATER, "the server's memory for queued output is used up (maxBufferedBytes)", new Error(
          `output for this connection could not be queued within the server's memory budget (maxBufferedBytes): closed with ${TRY_AGAIN_LATER}`,
        ));
        return false;
      }
    }
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
    this.watchdog?.stop();
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
