/**
 * `EndpointCore`: one `WSConnection` driven over one `Transport` (./transport.ts), with the
 * things a Sans-I/O core leaves to its caller: reading and writing bytes, timers, reassembling
 * messages, answering pings and closes, backpressure, and closing the transport when the
 * protocol says so. It imports nothing of a runtime: each runtime's `WebSocketEndpoint`
 * (wsmachine/node, wsmachine/deno, wsmachine/bun) is an event emitter that owns one core and
 * hands it a transport and the runtime's scheduling.
 *
 * Lifecycle (RFC 6455 §7): the endpoint closes the transport when the WebSocket connection is
 * CLOSED. A server ends TCP as soon as the closing handshake completes (§7.1.1); a client
 * waits for the server to end it, then ends its side. Every wait is bounded by `closeTimeout`,
 * after which the transport is destroyed. A peer that breaks the protocol gets a close frame
 * with the core's code (1002, 1007, 1009, …) and the transport is ended at once (§7.1.7).
 *
 * A peer's timing cannot crash the process: `send`, `sendFragment`, `ping`, `pong` and `close`
 * return false, doing nothing, when the connection can no longer do what they ask (not open
 * yet, closing, closed). Only a wrong argument throws.
 *
 * Once nothing more will be read (a rejection or a close frame for a failure was sent, the
 * closing handshake completed), the endpoint stops reading (Transport.stopReading): at most
 * DISCARD_LIMIT more bytes are read and dropped, enough to see a polite peer's EOF, and a peer
 * that keeps writing meets backpressure until `closeTimeout` destroys the transport.
 *
 * Bounded work: received data is processed in slices of about SLICE_MILLISECONDS, and the
 * connection's decoder works through at most WORK_QUANTUM bytes (received or inflated) per
 * step, yielding to the event loop in between (Runtime.yieldTurn), so that one connection's
 * huge or highly compressed message does not hold up every other connection.
 *
 * Backpressure: reading stops (`transport.pause()`) while a 'message' listener's promise is
 * pending, while more than `highWaterMark` bytes wait in the transport's write buffer, while a
 * server's `handleRequest` decision is pending, and between `pause()` and `resume()`. Already
 * received bytes stay in the core, which parses lazily, so no message is delivered while reading
 * is stopped. Pausing on the write buffer is what makes an echo or proxy loop safe against a
 * peer that does not read; two peers that both write without ever reading can still fill each
 * other's buffers (set `highWaterMark: Infinity` on an endpoint that must keep reading whatever
 * it has queued). Once our close frame is sent, or the transport is closed, listeners' promises
 * and the write buffer no longer stop reading: the peer's close frame must be read for the
 * closing handshake to finish (a listener may well `await endpoint.closed`), and what is left
 * is delivered before 'close'.
 */
import { concatBytes } from "../../codec/bytes.js";
import { buildClosePayload } from "../../codec/close.js";
import type { Extension } from "../../codec/extension.js";
import { ConnectionState, ConnectionType } from "../../codec/constants.js";
import type { Connection, WSConnection } from "../connection.js";
import { RemoteProtocolError } from "../../codec/errors.js";
import {
  AcceptConnection,
  BytesMessage,
  CloseConnection,
  Message,
  Ping,
  Pong,
  RejectConnection,
  RejectData,
  Request,
  TextBytesMessage,
  TextMessage,
  type Event,
} from "../../codec/events.js";
import { EndpointHandshakes } from "./endpoint-handshakes.js";
import {
  DEFAULT_HANDSHAKE_TIMEOUT,
  EMPTY,
  SLICE_MILLISECONDS,
  UNCOPIED_PAYLOAD_MIN,
  isPromiseLike,
  toBytes,
  type EndpointEmitter,
  type EndpointOptions,
  type Negotiated,
  type SendOptions,
} from "./endpoint-types.js";
import { ConnectionClosedError, TimeoutError } from "./errors.js";
import type { Runtime, Transport, TransportSink } from "./transport.js";

type MessageListener = (data: string | Uint8Array, isBinary: boolean) => unknown;

export class EndpointCore<Owner extends EndpointEmitter> extends EndpointHandshakes<Owner> implements TransportSink {
  // A message being reassembled.
  // A message being reassembled from fragments (null: none, as for almost every connection).
  private textParts: string[] | null = null;
  private binaryParts: Uint8Array[] | null = null;

  /** `negotiated`: the connection is a frames-only one whose handshake was done elsewhere (RFC 8441). */
  constructor(owner: Owner, transport: Transport, connection: WSConnection | Connection, options: EndpointOptions<Owner>, runtime: Runtime, negotiated?: Negotiated) {
    super(owner, transport, connection, options, runtime);
    const handshakeTimeout = options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
    if (connection.state === ConnectionState.CONNECTING && handshakeTimeout > 0) {
      this.handshakeTimer = setTimeout(() => {
        this.handshakeTimer = null;
        if (this.connection.state !== ConnectionState.CONNECTING) return;
        this.reportError(new TimeoutError("handshake", handshakeTimeout));
        this.transport.destroy();
      }, handshakeTimeout);
      runtime.unrefTimer(this.handshakeTimer);
    }
    transport.start(this);
    // Read what the connection already holds (a request passed to initiateUpgradeConnection, the
    // bytes after it) once the creator has attached its listeners.
    if (negotiated === undefined) {
      runtime.defer(() => this.pump());
      return;
    }
    this.keepRequest(negotiated.request);
    runtime.defer(() => {
      if (this.connection.state === ConnectionState.OPEN) this.opened(negotiated.protocol, negotiated.extensions);
      this.pump();
    });
  }

  get protocol(): string | null {
    return this.negotiatedProtocol;
  }

  get extensions(): readonly Extension[] {
    return this.negotiatedExtensions;
  }

  // -- the public API (documented on each runtime's WebSocketEndpoint) --------------------------

  sendFragment(data: string | Uint8Array, final: boolean, options?: SendOptions): boolean {
    const binary = options?.binary;
    let event: Event;
    if (typeof data === "string") {
      event = binary === true ? new BytesMessage({ data: toBytes(data), messageFinished: final }) : new TextMessage({ data, messageFinished: final });
    } else if (data instanceof Uint8Array) {
      event = binary === false ? new TextBytesMessage({ data, messageFinished: final }) : new BytesMessage({ data, messageFinished: final });
    } else throw new TypeError(`send() takes a string or a Uint8Array, not ${typeof data}`);
    if (!this.canSendData()) return false;
    if (typeof data !== "string" && data.length >= UNCOPIED_PAYLOAD_MIN && this.role === ConnectionType.SERVER) {
      // A server does not mask: the frame header and the caller's array go out as they are (one
      // writev when corked), saving a copy of the payload (bench:e2e E4: the copy and its fresh
      // buffer were a fifth of the time). The array must not change until written, as with ws.
      return this.writeParts(this.connection.sendParts(event));
    }
    return this.write(this.connection.send(event));
  }

  ping(payload: string | Uint8Array = EMPTY): boolean {
    const event = new Ping({ payload: toBytes(payload) });
    if (!this.canSendData()) return false;
    return this.write(this.connection.send(event));
  }

  pong(payload: string | Uint8Array = EMPTY): boolean {
    const event = new Pong({ payload: toBytes(payload) });
    if (!this.canSendData()) return false;
    return this.write(this.connection.send(event));
  }

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
      // since the peer's close frame must be read. The pump also closes the transport once CLOSED.
      this.pump();
      return true;
    }
    if (state === ConnectionState.CONNECTING || state === ConnectionState.REJECTING) {
      if (this.transport.destroyed) return false;
      this.transport.destroy();
      return true;
    }
    return false;
  }

  /** Messages, pings and pongs may be sent: open, our close frame not out, the transport writable. */
  private canSendData(): boolean {
    return this.connection.state === ConnectionState.OPEN && !this.closeFrameSent && !this.failed && this.transport.writable;
  }

  pause(): void {
    this.pausedByApplication = true;
    this.updateFlow();
  }

  resume(): void {
    if (!this.pausedByApplication) return;
    this.pausedByApplication = false;
    this.pump();
  }

  get isPaused(): boolean {
    return this.isBlocked();
  }

  // -- transport events -------------------------------------------------------------------------

  /** Bytes from the peer (TransportSink). */
  transportData(chunk: Uint8Array): void {
    // After the end, the peer's bytes mean nothing (RFC 6455 §7.1.1: nothing after the close),
    // and once reading stopped, what the transport still read before pausing is dropped.
    if (this.readingStopped || this.connection.state === ConnectionState.CLOSED) return;
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
  }

  /** The peer ended its side (TransportSink). */
  transportEnd(): void {
    this.feedEof();
    this.pump();
  }

  /** The transport closed (TransportSink). */
  transportClose(): void {
    this.transportClosed = true;
    this.writeBlocked = false; // nothing will drain any more
    this.clearTimers();
    this.feedEof();
    this.pump();
  }

  /** A transport error (TransportSink). */
  transportError(error: Error): void {
    // 'close' follows; the error is only news.
    this.reportError(error);
  }

  /** The transport's buffer emptied (TransportSink). */
  transportDrain(): void {
    this.drained();
  }

  // -- reading ----------------------------------------------------------------------------------

  protected isBlocked(): boolean {
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
  protected pump(): void {
    if (this.pumping) return; // the running loop sees whatever changed
    this.pumping = true;
    const started = performance.now();
    // What the listeners and the auto-replies write while this runs goes out in one system call.
    const transport = this.transport;
    transport.cork?.();
    try {
      while (!this.isBlocked()) {
        // nextEvent(): no generator per pump (one per read was most of what a large message's
        // reading allocated: bench:e2e's W3 findings).
        const event = this.connection.nextEvent();
        this.noteState();
        if (event === null) {
          if (this.connection.workPending) this.yieldSlice();
          break;
        }
        this.handle(event);
        if (performance.now() - started >= SLICE_MILLISECONDS) this.yieldSlice();
      }
    } finally {
      this.pumping = false;
      transport.uncork?.();
    }
    this.updateFlow();
    this.settle();
  }

  /** Go on with the connection's events on the next turn of the event loop. */
  private yieldSlice(): void {
    if (this.sliceScheduled) return;
    this.sliceScheduled = true;
    this.runtime.yieldTurn(() => {
      this.sliceScheduled = false;
      this.pump();
    });
  }

  private updateFlow(): void {
    if (this.transportClosed || this.readingStopped) return;
    const blocked = this.isBlocked();
    if (blocked && !this.transportPaused) {
      this.transportPaused = true;
      this.transport.pause();
    } else if (!blocked && this.transportPaused) {
      this.transportPaused = false;
      this.transport.resume();
    }
  }

  private handle(event: Event): void {
    if (event instanceof Message && event.messageFinished) this.messagesCompleted++;
    if (event instanceof TextBytesMessage) {
      this.deliverBytes(event, false);
    } else if (event instanceof TextMessage) {
      if (!event.messageFinished) (this.textParts ??= []).push(event.data);
      else if (this.textParts === null) this.deliver(event.data, false);
      else {
        this.textParts.push(event.data);
        const text = this.textParts.join("");
        this.textParts = null;
        this.deliver(text, false);
      }
    } else if (event instanceof BytesMessage) {
      this.deliverBytes(event, true);
    } else if (event instanceof Ping) {
      if (this.autoPong && this.connection.state === ConnectionState.OPEN) this.write(this.connection.send(event.response()), true);
      this.owner.emit("ping", event.payload);
    } else if (event instanceof Pong) {
      this.owner.emit("pong", event.payload);
    } else if (event instanceof CloseConnection) {
      this.onCloseEvent(event);
    } else if (event instanceof Request) {
      this.onRequest(event);
    } else if (event instanceof AcceptConnection) {
      this.opened(event.subprotocol, event.extensions);
    } else if (event instanceof RejectConnection || event instanceof RejectData) {
      this.onRejection(event);
    }
  }

  /** A binary message, or text as bytes (`textAs: "bytes"`), delivered whole. */
  private deliverBytes(event: Message<Uint8Array>, isBinary: boolean): void {
    if (!event.messageFinished) (this.binaryParts ??= []).push(event.data);
    else if (this.binaryParts === null) this.deliver(event.data, isBinary);
    else {
      // Connections made by this package assemble messages themselves (assembleMessages); one
      // made by the caller may hand out pieces (concatBytes skips the zero fill on Node).
      this.binaryParts.push(event.data);
      const bytes = concatBytes(this.binaryParts);
      this.binaryParts = null;
      this.deliver(bytes, isBinary);
    }
  }

  /** Call the 'message' listeners by hand, to see their promises (emitters drop return values). */
  private deliver(data: string | Uint8Array, isBinary: boolean): void {
    for (const listener of this.owner.rawListeners("message")) {
      const result = (listener as MessageListener).call(this.owner, data, isBinary);
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
}

/** Resolve when the endpoint opens; reject with its first error when it closes unopened. Internal to the runtimes' connect() and upgrade(). */
export function whenOpen<Endpoint extends OpenWatchable>(endpoint: Endpoint): Promise<Endpoint> {
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

/** What whenOpen needs of an endpoint: the three events, as both emitters spell them. */
export interface OpenWatchable {
  on(name: "open" | "close", listener: () => void): unknown;
  on(name: "error", listener: (error: Error) => void): unknown;
  off(name: "open" | "close", listener: () => void): unknown;
  off(name: "error", listener: (error: Error) => void): unknown;
}
