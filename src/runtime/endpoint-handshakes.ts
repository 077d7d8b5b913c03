/**
 * The endpoint's handshakes: a server's decision on the upgrade request (`handleRequest`, which
 * may be asynchronous), a client's reading of a rejection, the connection opening (the
 * watchdog starts), and the closing handshake (RFC 6455 §7), including a peer's protocol
 * violation (§7.1.7). See ./endpoint-core.ts for the contract.
 */
import { concatBytes } from "../../codec/bytes.js";
import type { Extension } from "../../codec/extension.js";
import { ConnectionState, ConnectionType } from "../../codec/constants.js";
import type { RemoteProtocolError } from "../../codec/errors.js";
import { AcceptConnection, CloseConnection, RejectConnection, RejectData, type Request } from "../../codec/events.js";
import { EndpointBase } from "./endpoint-base.js";
import { ABNORMAL, EMPTY, GOING_AWAY, POLICY_VIOLATION, isPromiseLike, toBytes, type EndpointEmitter, type HandshakeDecision } from "./endpoint-types.js";
import { ConnectionClosedError, HandshakeRejectedError, PeerProtocolError, TimeoutError } from "./errors.js";
import { Watchdog, type WatchdogHooks } from "./watchdog.js";

export abstract class EndpointHandshakes<Owner extends EndpointEmitter> extends EndpointBase<Owner> implements WatchdogHooks {
  // A rejection being read (client).
  private rejection: RejectConnection | null = null;
  private rejectionBody: Uint8Array[] | null = null;
  protected messagesCompleted = 0;

  /** Send a ping (endpoint-core.ts); the watchdog's heartbeat. */
  abstract ping(payload?: string | Uint8Array): boolean;
  /** Start the closing handshake (endpoint-core.ts). */
  abstract close(code?: number, reason?: string): boolean;

  // -- the opening handshake --------------------------------------------------------------------

  protected onRequest(request: Request): void {
    this.keepRequest(request);
    let decision: HandshakeDecision | Promise<HandshakeDecision>;
    try {
      decision = this.handleRequest === null ? new AcceptConnection() : this.handleRequest(request, this.owner);
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
    this.transport.end();
    this.stopReading();
    this.startCloseTimer();
  }

  protected opened(protocol: string | null, extensions: readonly Extension[]): void {
    this.clearHandshakeTimer();
    this.wasOpened = true;
    this.startWatchdog();
    this.negotiatedProtocol = protocol;
    this.negotiatedExtensions = extensions;
    this.releaseRequest();
    // Messages that came with the handshake wait one turn of the event loop, so that whoever
    // awaits the open endpoint (a promise continuation) can attach its listeners first.
    this.deferredAfterOpen = true;
    this.runtime.yieldTurn(() => {
      this.deferredAfterOpen = false;
      this.pump();
    });
    this.owner.emit("open");
  }

  /** Client: the server answered with something other than 101 (RejectConnection, then its body). */
  protected onRejection(event: RejectConnection | RejectData): void {
    if (event instanceof RejectConnection) {
      this.rejection = event;
      if (event.hasBody) return;
    } else {
      (this.rejectionBody ??= []).push(event.data);
      if (!event.bodyFinished) return;
    }
    const rejection = this.rejection!;
    this.reportError(new HandshakeRejectedError(rejection.statusCode, rejection.headers, concatBytes(this.rejectionBody ?? [])));
    this.rejectionBody = null;
    this.transport.destroy();
  }

  protected handshakeFailed(error: RemoteProtocolError): void {
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
      this.transport.end();
      this.stopReading();
      this.startCloseTimer();
    } else {
      this.transport.destroy();
    }
  }

  private startWatchdog(): void {
    if (!Watchdog.needed(this.watchdogLimits) || this.watchdog !== null) return;
    this.watchdog = new Watchdog(this.watchdogLimits, this, this.runtime.unrefTimer);
    this.watchdog.start();
  }

  // -- what the watchdog asks (WatchdogHooks: methods, so that a connection holds no closures for it)

  watchdogReading(): boolean {
    return !this.isBlocked() && !this.transportPaused;
  }

  watchdogMessageInProgress(): boolean {
    return this.connection.messageInProgress;
  }

  watchdogMessagesCompleted(): number {
    return this.messagesCompleted;
  }

  watchdogPing(): void {
    this.ping();
  }

  watchdogIdle(): void {
    this.reportError(new TimeoutError("idle", this.watchdogLimits.idleTimeout));
    this.close(GOING_AWAY, "idle timeout");
  }

  watchdogMessageTimedOut(): void {
    const limit = this.watchdogLimits.messageTimeout;
    this.failLocally(POLICY_VIOLATION, "message not completed within messageTimeout", new TimeoutError("message", limit));
  }

  // -- the closing handshake --------------------------------------------------------------------

  protected onCloseEvent(event: CloseConnection): void {
    const state = this.connection.state;
    const reason = event.reason ?? "";
    if (state === ConnectionState.REMOTE_CLOSING) {
      // The peer started the closing handshake (RFC 6455 §7.1.3); we owe it our close frame.
      this.closeFrameReceived = true;
      this.closeCode = event.code;
      this.closeReason = reason;
      this.owner.emit("closing", event.code, reason);
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
      this.owner.emit("closing", event.code, reason);
      return;
    }
    // OPEN or LOCAL_CLOSING with a failure: the peer broke the protocol (RFC 6455 §7.1.7). Send
    // the close frame the core chose (if ours is not out yet) and end the transport.
    this.failed = true;
    this.closeCode = event.code;
    this.closeReason = reason;
    if (state === ConnectionState.OPEN && !this.closeFrameSent) {
      this.closeFrameSent = true;
      this.write(this.connection.send(event.response()), true);
      this.noteState();
    }
    this.reportError(new PeerProtocolError(event.code, reason));
    this.transport.end();
    this.stopReading();
    this.startCloseTimer();
  }
}
