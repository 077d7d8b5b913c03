/**
 * The state of one endpoint and what every part of it uses: writing to the transport within the
 * memory budget, the timers, errors, the 'state' event, and closing the transport once the
 * WebSocket connection is CLOSED. The opening handshake (./endpoint-handshakes.ts) and reading
 * plus the public API (./endpoint-core.ts) build on it; see endpoint-core.ts for the contract.
 */
import type { Extension } from "../../codec/extension.js";
import type { MemoryAccount } from "../../codec/memory-budget.js";
import { ConnectionState, ConnectionType } from "../../codec/constants.js";
import type { Connection, WSConnection } from "../connection.js";
import { CloseConnection, type Event, type Request } from "../../codec/events.js";
import { packRequest, unpackRequest } from "../../codec/handshake/packed-request.js";
import {
  ABNORMAL,
  DISCARD_LIMIT,
  TRY_AGAIN_LATER,
  type CloseInfo,
  type EndpointEmitter,
  type EndpointOptions,
  type RequestHandler,
} from "./endpoint-types.js";
import type { Runtime, TimerHandle, Transport } from "./transport.js";
import type { Watchdog, WatchdogLimits } from "./watchdog.js";
import { EndpointFlags } from "./endpoint-flags.js";
import { endpointSettings, type EndpointSettings } from "./endpoint-settings.js";

/** The extensions of an endpoint not open yet: one empty array for all. */
const NO_EXTENSIONS: readonly Extension[] = Object.freeze([]);

export abstract class EndpointBase<Owner extends EndpointEmitter> extends EndpointFlags {
  readonly connection: WSConnection | Connection;
  readonly transport: Transport;
  /** The object users hold: events are emitted on it, listeners called with it as `this`. */
  protected readonly owner: Owner;
  protected readonly runtime: Runtime;

  /** The options with their defaults, shared with the other endpoints made with the same options. */
  protected readonly settings: EndpointSettings<Owner>;

  protected negotiatedProtocol: string | null = null;
  protected negotiatedExtensions: readonly Extension[] = NO_EXTENSIONS;
  /**
   * Server: the upgrade request. From OPEN on, a weak reference to it and its packed form
   * (codec/handshake/packed-request.ts, the string the core keeps too): an idle connection no
   * longer holds the Request's dozen objects and the request head its values were sliced from
   * (~0.5 KiB, bench:e2e R1), while `request` stays the same object for as long as anyone else
   * holds it, and an equal one, made again, after that.
   */
  private keptRequest: Request | WeakRef<Request> | null = null;
  private packedRequest: string | null = null;
  /**
   * `closed` and its resolver, made when first asked for (most connections never are: an idle
   * one would hold a promise and a resolving function for nothing), or how it ended.
   */
  private closedPromise: Promise<CloseInfo> | null = null;
  private resolveClosed: ((info: CloseInfo) => void) | null = null;
  private closeInfo: CloseInfo | null = null;
  private lastState: ConnectionState;

  /** Why reading is stopped, and how it ended, are flags (./endpoint-flags.ts); these are not. */
  protected pendingHandlers = 0;
  protected closeCode: number | null = null;
  protected closeReason = "";
  /** The state before the connection became CLOSED (to tell a handshake cut short). */
  protected lastStateBeforeClose: ConnectionState = ConnectionState.CONNECTING;
  protected handshakeTimer: TimerHandle | null = null;
  private closeTimer: TimerHandle | null = null;
  protected watchdog: Watchdog | null = null;
  /** Output queued beyond highWaterMark, charged to the memory budget (made when first needed). */
  private outputAccount: MemoryAccount | null = null;

  constructor(owner: Owner, transport: Transport, connection: WSConnection | Connection, options: EndpointOptions<Owner>, runtime: Runtime) {
    super();
    this.owner = owner;
    this.transport = transport;
    this.connection = connection;
    this.runtime = runtime;
    this.settings = endpointSettings(options);
    this.lastState = connection.state;
  }

  /** Server: the upgrade request (null on a client). */
  get request(): Request | null {
    const kept = this.keptRequest;
    if (!(kept instanceof WeakRef)) return kept;
    let request = kept.deref();
    if (request === undefined) {
      request = unpackRequest(this.packedRequest!);
      this.keptRequest = new WeakRef(request);
    }
    return request;
  }

  protected keepRequest(request: Request | null): void {
    this.keptRequest = request;
  }

  /** The connection is open: keep the request weakly, and packed (see `keptRequest`). */
  protected releaseRequest(): void {
    const request = this.keptRequest;
    if (request === null || request instanceof WeakRef) return;
    this.packedRequest = packRequest(request);
    if (this.packedRequest !== null) this.keptRequest = new WeakRef(request);
  }

  /** Resolves (never rejects) when the 'close' event is emitted. */
  get closed(): Promise<CloseInfo> {
    if (this.closedPromise === null) {
      const info = this.closeInfo;
      this.closedPromise = info !== null ? Promise.resolve(info) : new Promise((resolve) => (this.resolveClosed = resolve));
    }
    return this.closedPromise;
  }

  protected get autoPong(): boolean {
    return this.settings.autoPong;
  }
  protected get autoCloseReply(): boolean {
    return this.settings.autoCloseReply;
  }
  protected get closeTimeout(): number {
    return this.settings.closeTimeout;
  }
  protected get highWaterMark(): number {
    return this.settings.highWaterMark;
  }
  protected get handleRequest(): RequestHandler<Owner> | null {
    return this.settings.handleRequest;
  }
  protected get awaitMessageListeners(): boolean {
    return this.settings.awaitMessageListeners;
  }
  protected get watchdogLimits(): Readonly<WatchdogLimits> {
    return this.settings.watchdogLimits;
  }

  get role(): ConnectionType {
    return this.connection.role;
  }

  /** Hand out the connection's events (endpoint-core.ts). */
  protected abstract pump(): void;
  /** True while reading is stopped, for whatever reason (endpoint-core.ts). */
  protected abstract isBlocked(): boolean;

  /** Nothing more will be read from this peer (see Transport.stopReading). */
  protected stopReading(): void {
    if (this.readingStopped) return;
    this.readingStopped = true;
    this.watchdog?.stop();
    if (this.transportClosed) return;
    this.transportPaused = true;
    this.transport.stopReading(DISCARD_LIMIT);
  }

  /**
   * We fail the connection for the peer's behaviour that the protocol itself allows (a message
   * too slow, the server's memory used up): send a close frame with `code`, stop reading, end
   * the transport. EOF is fed to the connection at once, so that it reaches CLOSED and gives back
   * what it held for the unfinished message now rather than at the end of the close timer.
   */
  protected failLocally(code: number, reason: string, error: Error): void {
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
    this.transport.end();
    this.stopReading();
    this.startCloseTimer();
    this.feedEof();
    this.pump();
  }

  protected feedEof(): void {
    if (this.eofFed) return;
    this.eofFed = true;
    this.connection.receiveData(null);
    this.noteState();
  }

  /**
   * Once the WebSocket connection is CLOSED, close the transport as the RFC says; once it is
   * closed too and no message is still being handled, emit 'close'.
   */
  protected settle(): void {
    if (this.connection.state !== ConnectionState.CLOSED) return;
    this.watchdog?.stop();
    if (!this.transportClosed) {
      // The closing handshake is over (or the connection failed): nothing more will be read.
      this.stopReading();
      if (this.eofFed || this.role === ConnectionType.SERVER || this.failed) {
        // The peer ended its side, or we are the server (RFC 6455 §7.1.1: the server closes TCP first).
        if (!this.transport.writableEnded) this.transport.end();
      }
      // A client waits for the server's FIN; everyone waits at most closeTimeout from here.
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
    this.closeInfo = info;
    this.owner.emit("close", info.code, info.reason, info.wasClean);
    this.resolveClosed?.(info);
    this.resolveClosed = null;
  }

  /**
   * Queue bytes on the transport. Output queued beyond highWaterMark is reserved from the memory
   * budget first; when the budget refuses, the connection fails with 1013 and the bytes are not
   * queued (`unbudgeted`: the close frame that says so, which must go out regardless).
   */
  protected write(bytes: Uint8Array, unbudgeted = false): boolean {
    if (bytes.length === 0) return true;
    const transport = this.transport;
    if (!transport.writable) return false;
    const budget = this.settings.memoryBudget;
    if (budget !== null && !unbudgeted) {
      const beyond = transport.bufferedAmount + bytes.length - this.highWaterMark;
      const held = this.outputAccount?.held ?? 0;
      if (beyond > held && !(this.outputAccount ??= budget.account()).reserve(beyond - held)) {
        this.failLocally(TRY_AGAIN_LATER, "the server's memory for queued output is used up (maxBufferedBytes)", new Error(
          `output for this connection could not be queued within the server's memory budget (maxBufferedBytes): closed with ${TRY_AGAIN_LATER}`,
        ));
        return false;
      }
    }
    const flushed = transport.write(bytes);
    if (!flushed && transport.bufferedAmount > this.highWaterMark) this.writeBlocked = true;
    return flushed;
  }

  /**
   * Queue a frame given as parts (a header, then the caller's payload uncopied), as one budgeted
   * write: the parts go out together (one writev where the transport corks).
   */
  protected writeParts(parts: readonly Uint8Array[]): boolean {
    if (parts.length === 1) return this.write(parts[0]!);
    const transport = this.transport;
    transport.cork?.();
    try {
      let flushed = true;
      for (const part of parts) flushed = this.write(part) && flushed;
      return flushed;
    } finally {
      transport.uncork?.();
    }
  }

  /** The transport's buffer emptied: nothing is queued beyond highWaterMark any more. */
  protected drained(): void {
    this.outputAccount?.releaseAll();
    if (this.writeBlocked && this.transport.bufferedAmount <= this.highWaterMark) {
      this.writeBlocked = false;
      this.pump();
    }
    this.owner.emit("drain");
  }

  protected startCloseTimer(): void {
    if (this.closeTimer !== null || this.transportClosed) return;
    this.closeTimer = setTimeout(() => {
      this.closeTimer = null;
      this.transport.destroy();
    }, this.closeTimeout);
    this.runtime.unrefTimer(this.closeTimer);
  }

  protected clearHandshakeTimer(): void {
    if (this.handshakeTimer !== null) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = null;
  }

  protected clearTimers(): void {
    this.clearHandshakeTimer();
    this.watchdog?.stop();
    if (this.closeTimer !== null) clearTimeout(this.closeTimer);
    this.closeTimer = null;
  }

  protected reportError(error: Error): void {
    if (!this.wasOpened) this.handshakeErrorReported = true;
    if (this.owner.listenerCount("error") > 0) this.owner.emit("error", error);
  }

  /** Emit 'state' for a change of the statechart's top-level state since the last look. */
  protected noteState(): void {
    const state = this.connection.state;
    if (state === this.lastState) return;
    const previous = this.lastState;
    this.lastState = state;
    if (state === ConnectionState.CLOSED) this.lastStateBeforeClose = previous;
    this.owner.emit("state", state, previous);
  }
}
