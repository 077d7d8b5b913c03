/**
 * The Transport (../runtime/transport.ts) over a Bun socket (`Bun.listen`, `Bun.connect`).
 * Bun's sockets are callback-based and do not buffer: `write` takes what the kernel accepts and
 * reports how much, and the `drain` handler says when more fits. So this keeps a write queue
 * (`bufferedAmount`, false from `write` past WRITE_HIGH_WATER_MARK, `drain` once it empties),
 * uses Bun's `pause()`/`resume()` for reading, and half-closes with `shutdown()` once the queue
 * is written (sockets are opened with `allowHalfOpen`, so the peer's FIN does not close ours).
 * No node:* module is used: this runs on Bun's own APIs.
 */
import type { Runtime, Transport, TransportSink } from "../runtime/transport.js";
import { turnQueue } from "../runtime/turns.js";

/** The part of a Bun socket used here (Bun's own types are not needed to build this package). */
export interface BunSocket<Data = unknown> {
  data: Data;
  /** Bytes the kernel took (possibly fewer than given; -1 or 0 when closed). */
  write(bytes: Uint8Array): number;
  shutdown(halfClose?: boolean): void;
  end(): void;
  terminate(): void;
  pause(): void;
  resume(): void;
  setNoDelay?(noDelay?: boolean): boolean;
  readonly readyState: number | string;
}

/** The socket handlers Bun calls; one set serves every socket of a listener. */
export interface BunSocketHandlers {
  open(socket: BunSocket<BunTransport | null>): void;
  data(socket: BunSocket<BunTransport | null>, chunk: Uint8Array): void;
  drain(socket: BunSocket<BunTransport | null>): void;
  end(socket: BunSocket<BunTransport | null>): void;
  close(socket: BunSocket<BunTransport | null>, error?: Error): void;
  error(socket: BunSocket<BunTransport | null>, error: Error): void;
  connectError?(socket: BunSocket<BunTransport | null>, error: Error): void;
}

/** Bun's scheduling: setImmediate and unref'able timers are Bun's own globals. */
export const bunRuntime: Runtime = {
  defer: (task) => queueMicrotask(task),
  // Busy endpoints take turns (../runtime/turns.ts), one setImmediate for all of them.
  yieldTurn: turnQueue((run) => setImmediate(run)),
  unrefTimer: (timer) => {
    timer.unref();
  },
};

/** As Node's default for sockets: write() returns false once this much waits. */
const WRITE_HIGH_WATER_MARK = 16 * 1024;

/** Handlers that forward each socket's events to its transport (`socket.data`). */
export function bunHandlers(onOpen: (socket: BunSocket<BunTransport | null>) => void): BunSocketHandlers {
  return {
    open: onOpen,
    data: (socket, chunk) => socket.data?.received(chunk),
    drain: (socket) => socket.data?.flush(),
    end: (socket) => socket.data?.peerEnded(),
    close: (socket, error) => socket.data?.closed(error),
    error: (socket, error) => socket.data?.failed(error),
  };
}

export class BunTransport implements Transport {
  readonly socket: BunSocket<BunTransport | null>;
  private sink: TransportSink | null = null;
  /** What arrived before `start` (Bun may call `data` right after `open`). */
  private early: Array<() => void> = [];
  private readonly queue: Uint8Array[] = [];
  /** Bytes of queue[0] already written. */
  private offset = 0;
  private queued = 0;
  private needDrain = false;
  private ended = false;
  private shutDown = false;
  private isDestroyed = false;
  private isClosed = false;
  private stopped = false;
  private discardLimit = 0;
  private discarded = 0;

  constructor(socket: BunSocket<BunTransport | null>) {
    this.socket = socket;
    socket.data = this;
  }

  start(sink: TransportSink): void {
    this.sink = sink;
    // Latency matters more than packet count for a message protocol.
    this.socket.setNoDelay?.(true);
    const early = this.early;
    this.early = [];
    for (const event of early) event();
  }

  // -- Bun's events -------------------------------------------------------------------------------

  received(chunk: Uint8Array): void {
    if (this.sink === null) {
      this.early.push(() => this.received(chunk));
      return;
    }
    if (this.stopped) {
      this.discarded += chunk.length;
      // Past the bytes we drop after the end: read no more (the peer meets TCP backpressure).
      if (this.discarded > this.discardLimit) this.socket.pause();
      return;
    }
    this.sink.transportData(chunk);
  }

  peerEnded(): void {
    if (this.sink === null) this.early.push(() => this.peerEnded());
    else this.sink.transportEnd();
  }

  failed(error: Error): void {
    if (this.sink === null) this.early.push(() => this.failed(error));
    else if (!this.isDestroyed) this.sink.transportError(error);
  }

  closed(error?: Error): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.queue.length = 0;
    this.queued = 0;
    if (this.sink === null) {
      this.early.push(() => this.reportClose(error));
      return;
    }
    // As Node's 'close': never from within the call that caused it (terminate() may call us).
    queueMicrotask(() => this.reportClose(error));
  }

  private reportClose(error?: Error): void {
    if (error !== undefined && !this.isDestroyed) this.sink!.transportError(error);
    this.sink!.transportClose();
  }

  // -- the Transport --------------------------------------------------------------------------------

  write(bytes: Uint8Array): boolean {
    if (!this.writable) return false;
    this.queue.push(bytes);
    this.queued += bytes.length;
    if (this.queue.length === 1) this.flush();
    if (this.queued < WRITE_HIGH_WATER_MARK) return true;
    this.needDrain = true;
    return false;
  }

  /** Write what the kernel takes; Bun calls `drain` when it takes more. */
  flush(): void {
    while (this.queue.length > 0 && !this.isClosed) {
      const chunk = this.queue[0]!;
      const rest = this.offset === 0 ? chunk : chunk.subarray(this.offset);
      const written = this.socket.write(rest);
      if (written <= 0) return;
      this.queued -= written;
      if (written < rest.length) {
        this.offset += written;
        return;
      }
      this.queue.shift();
      this.offset = 0;
    }
    if (this.isClosed) return;
    if (this.ended && !this.shutDown) {
      this.shutDown = true;
      this.socket.shutdown();
    }
    if (this.needDrain && this.sink !== null) {
      this.needDrain = false;
      this.sink.transportDrain();
    }
  }

  get bufferedAmount(): number {
    return this.queued;
  }

  get writable(): boolean {
    return !this.ended && !this.isDestroyed && !this.isClosed;
  }

  get writableEnded(): boolean {
    return this.ended;
  }

  get destroyed(): boolean {
    return this.isDestroyed || this.isClosed;
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    if (!this.stopped) this.socket.resume();
  }

  stopReading(discardLimit: number): void {
    this.stopped = true;
    this.discardLimit = discardLimit;
    // Read on (dropping) until the limit, to see a polite peer's FIN.
    this.socket.resume();
  }

  end(): void {
    if (this.ended || this.isDestroyed || this.isClosed) return;
    this.ended = true;
    if (this.queue.length === 0) this.flush();
  }

  destroy(): void {
    if (this.isDestroyed || this.isClosed) return;
    this.isDestroyed = true;
    this.queue.length = 0;
    this.queued = 0;
    // Bun calls `close` for it (Node's 'close' after destroy() too).
    this.socket.terminate();
  }
}
