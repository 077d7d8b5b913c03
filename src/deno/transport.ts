/**
 * The Transport (../runtime/transport.ts) over a `Deno.Conn` (from `Deno.listen`,
 * `Deno.connect`, or their TLS forms). Deno's connection is promise-based and unbuffered, so
 * this keeps what the endpoint contract needs: a write queue (`bufferedAmount`, false from
 * `write` past WRITE_HIGH_WATER_MARK, `drain` once it empties), a read loop that stops while
 * paused (the peer's writes then back up in TCP), and half-close with `closeWrite()`.
 * No node:* module is used: this runs on Deno's own APIs.
 */
import type { Runtime, Transport, TransportSink } from "../runtime/transport.js";
import { turnQueue } from "../runtime/turns.js";

/** One turn queue for the process (see ../runtime/turns.ts). */
const denoTurns = turnQueue((run) => setImmediate(run));

/** The part of `Deno.Conn` used here (Deno's own types are not needed to build this package). */
export interface DenoConn {
  read(buffer: Uint8Array): Promise<number | null>;
  write(bytes: Uint8Array): Promise<number>;
  closeWrite(): Promise<void>;
  close(): void;
  setNoDelay?(noDelay?: boolean): void;
}

/** The part of the `Deno` namespace this entry uses. */
export interface DenoNamespace {
  listen(options: { hostname: string; port: number; transport?: "tcp" }): DenoListener;
  listenTls(options: { hostname: string; port: number; cert: string; key: string; alpnProtocols?: string[] }): DenoListener;
  connect(options: { hostname: string; port: number }): Promise<DenoConn>;
  connectTls(options: { hostname: string; port: number; caCerts?: string[]; alpnProtocols?: string[] }): Promise<DenoConn>;
  unrefTimer(id: number): void;
}

export interface DenoListener extends AsyncIterable<DenoConn> {
  readonly addr: { hostname: string; port: number };
  close(): void;
}

/** The `Deno` global, or a clear error when this entry is loaded elsewhere. */
export function denoNamespace(): DenoNamespace {
  const deno = (globalThis as { Deno?: DenoNamespace }).Deno;
  if (deno === undefined) throw new Error("wsmachine/deno runs under Deno (the Deno global is missing): use wsmachine/node or wsmachine/bun elsewhere");
  return deno;
}

/** Deno's scheduling: setImmediate is a Deno 2 global; timers are numbers, unref'd with Deno.unrefTimer. */
export function denoRuntime(deno: DenoNamespace): Runtime {
  return {
    defer: (task) => queueMicrotask(task),
    // Busy endpoints take turns (../runtime/turns.ts), one setImmediate for all of them.
    yieldTurn: denoTurns,
    unrefTimer: (timer) => deno.unrefTimer(timer as unknown as number),
  };
}

/** As Node's default for sockets: write() returns false once this much waits. */
const WRITE_HIGH_WATER_MARK = 16 * 1024;
/** Bytes per read() (Node's socket reads at most 64 KiB as well). */
const READ_SIZE = 64 * 1024;
/** Queued chunks are joined up to this size per write() call, so small frames do not cost a call each. */
const WRITE_BATCH = 64 * 1024;

export class DenoTransport implements Transport {
  readonly conn: DenoConn;
  private sink: TransportSink | null = null;
  private readonly queue: Uint8Array[] = [];
  private queued = 0;
  private writing = false;
  private needDrain = false;
  private ended = false;
  private writeClosed = false;
  private readEnded = false;
  private isDestroyed = false;
  private closeReported = false;
  private paused = false;
  private wakeReader: (() => void) | null = null;
  private stopped = false;
  private discardLimit = 0;
  private discarded = 0;

  constructor(conn: DenoConn) {
    this.conn = conn;
  }

  start(sink: TransportSink): void {
    this.sink = sink;
    // Latency matters more than packet count for a message protocol.
    try {
      this.conn.setNoDelay?.(true);
    } catch {
      // A TLS connection may not offer it; nothing is lost but latency.
    }
    void this.readLoop();
  }

  private async readLoop(): Promise<void> {
    const buffer = new Uint8Array(READ_SIZE);
    while (!this.isDestroyed) {
      if (this.stopped ? this.discarded > this.discardLimit : this.paused) {
        // Paused, or read all we drop after the end: the peer's writes back up in TCP.
        await new Promise<void>((resolve) => (this.wakeReader = resolve));
        continue;
      }
      let count: number | null;
      try {
        count = await this.conn.read(buffer);
      } catch (error) {
        this.fail(error);
        return;
      }
      if (this.isDestroyed) return;
      if (count === null) {
        this.readEnded = true;
        this.sink!.transportEnd();
        this.closeIfDone();
        return;
      }
      if (this.stopped) this.discarded += count;
      this.sink!.transportData(buffer.slice(0, count));
    }
  }

  write(bytes: Uint8Array): boolean {
    if (!this.writable) return false;
    this.queue.push(bytes);
    this.queued += bytes.length;
    if (!this.writing) void this.writeLoop();
    if (this.queued < WRITE_HIGH_WATER_MARK) return true;
    this.needDrain = true;
    return false;
  }

  private async writeLoop(): Promise<void> {
    this.writing = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.takeBatch();
        let offset = 0;
        while (offset < batch.length) offset += await this.conn.write(batch.subarray(offset));
        this.queued -= batch.length;
        if (this.isDestroyed) return;
      }
      if (this.ended && !this.writeClosed) {
        this.writeClosed = true;
        await this.conn.closeWrite();
      }
    } catch (error) {
      this.fail(error);
      return;
    } finally {
      this.writing = false;
    }
    if (this.needDrain && !this.isDestroyed) {
      this.needDrain = false;
      this.sink!.transportDrain();
    }
    this.closeIfDone();
  }

  /** The next chunk to write: the first, or the first few joined up to WRITE_BATCH. */
  private takeBatch(): Uint8Array {
    const first = this.queue.shift()!;
    if (this.queue.length === 0 || first.length >= WRITE_BATCH) return first;
    let length = first.length;
    let count = 0;
    while (count < this.queue.length && length + this.queue[count]!.length <= WRITE_BATCH) length += this.queue[count++]!.length;
    if (count === 0) return first;
    const batch = new Uint8Array(length);
    batch.set(first, 0);
    let offset = first.length;
    for (const chunk of this.queue.splice(0, count)) {
      batch.set(chunk, offset);
      offset += chunk.length;
    }
    return batch;
  }

  get bufferedAmount(): number {
    return this.queued;
  }

  get writable(): boolean {
    return !this.ended && !this.isDestroyed;
  }

  get writableEnded(): boolean {
    return this.ended;
  }

  get destroyed(): boolean {
    return this.isDestroyed;
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.wake();
  }

  stopReading(discardLimit: number): void {
    this.stopped = true;
    this.discardLimit = discardLimit;
    this.wake();
  }

  end(): void {
    if (this.ended || this.isDestroyed) return;
    this.ended = true;
    if (!this.writing) void this.writeLoop();
  }

  destroy(): void {
    if (this.isDestroyed) return;
    this.isDestroyed = true;
    this.queue.length = 0;
    this.queued = 0;
    try {
      this.conn.close();
    } catch {
      // Already closed by Deno (the peer reset it): closing is what we wanted.
    }
    this.wake();
    // As Node's 'close', after the current call returns.
    queueMicrotask(() => this.reportClose());
  }

  private wake(): void {
    const wake = this.wakeReader;
    this.wakeReader = null;
    wake?.();
  }

  /** Both directions are finished (the peer's EOF read, ours sent): release the connection. */
  private closeIfDone(): void {
    if (this.readEnded && this.writeClosed && !this.writing && !this.isDestroyed) this.destroy();
  }

  private fail(error: unknown): void {
    if (this.isDestroyed) return; // our own close() interrupted a read or write
    this.sink!.transportError(error instanceof Error ? error : new Error(String(error)));
    this.destroy();
  }

  private reportClose(): void {
    if (this.closeReported) return;
    this.closeReported = true;
    this.sink?.transportClose();
  }
}
