/**
 * What the runtime-agnostic endpoint (./endpoint-core.ts) needs from a byte stream and from the
 * runtime, and nothing more, so that one endpoint serves Node (any Duplex: net.Socket,
 * TLSSocket, Http2Stream: ../node/transport.ts), Deno (`Deno.Conn`: ../deno/transport.ts) and
 * Bun (`Bun.listen`/`Bun.connect` sockets: ../bun/transport.ts). Nothing here imports a
 * runtime's modules.
 */
import { turnQueue } from "./turns.js";

/**
 * What a transport tells its endpoint; each callback is called synchronously from the transport's
 * I/O. The endpoint (./endpoint-core.ts) is its own sink: the names say they come from the
 * transport, so that they stand apart from the endpoint's public API (its `close` above all), and
 * an idle connection holds no forwarding object for them (bench:e2e R1).
 */
export interface TransportSink {
  /** Bytes from the peer. The endpoint keeps the array (the transport must not reuse it). */
  transportData(chunk: Uint8Array): void;
  /** The peer ended its side (EOF); writing may still be possible (half-close). */
  transportEnd(): void;
  /** The transport is closed for good (both sides, or destroyed). Called once, last. */
  transportClose(): void;
  /** A transport error; `transportClose` follows, so the error is only news. */
  transportError(error: Error): void;
  /** What `write` queued was handed to the system after a `write` returned false. */
  transportDrain(): void;
}

/** A byte stream to the peer. */
export interface Transport {
  /** Attach the endpoint and start reading. Called once. */
  start(sink: TransportSink): void;
  /**
   * Queue bytes (the transport keeps the array until written). False when the transport's own
   * buffer is over its limit: `drain` follows once it empties. Never throws for a closed
   * transport: the endpoint checks `writable` first.
   */
  write(bytes: Uint8Array): boolean;
  /** Bytes queued and not yet handed to the system. */
  readonly bufferedAmount: number;
  /** Writes are still accepted: not ended, not destroyed. */
  readonly writable: boolean;
  /** `end()` was called. */
  readonly writableEnded: boolean;
  /** `destroy()` was called, or the transport closed. */
  readonly destroyed: boolean;
  /** Stop reading from the peer (its writes back up in TCP, or in HTTP/2 flow control). */
  pause(): void;
  /** Read again after `pause()`. */
  resume(): void;
  /**
   * Nothing more will be read: read and drop at most about `discardLimit` more bytes (enough to
   * see a polite peer's EOF), then read no more, so that a peer that keeps writing meets
   * backpressure. Dropped bytes may still be passed to `data` (the endpoint ignores them).
   */
  stopReading(discardLimit: number): void;
  /** Send EOF once what is queued is written (half-close); reading goes on. */
  end(): void;
  /** Close now, dropping what is queued; `close` follows. */
  destroy(): void;
  /**
   * Optional: hold what `write` queues until `uncork()`, then hand it to the system at once (one
   * writev). The endpoint corks while it handles what one read brought, so that the replies to a
   * batch of messages cost one system call, not one each (a loopback write costs ~10 µs here,
   * a small message's protocol work under 1 µs: bench:e2e's profile). Calls nest.
   */
  cork?(): void;
  uncork?(): void;
}

/** Timer handles as this runtime's setTimeout returns them. */
export type TimerHandle = ReturnType<typeof setTimeout>;

/** The runtime's scheduling, which the endpoint cannot take from a global that every runtime has. */
export interface Runtime {
  /** Run `task` once the current synchronous code is done, before any I/O (Node: process.nextTick). */
  defer(task: () => void): void;
  /** Run `task` on a later turn of the event loop, after pending I/O (Node: setImmediate). */
  yieldTurn(task: () => void): void;
  /** Let the process exit while only `timer` is pending (Node and Bun: timer.unref(); Deno: Deno.unrefTimer). */
  unrefTimer(timer: TimerHandle): void;
}

/**
 * Scheduling from the globals Deno 2 and Bun have as well as Node: `setImmediate` (a global in
 * Bun and, since 2.0, in Deno; checked with Deno 2.9 and Bun 1.4) with `setTimeout(0)` as the
 * fallback elsewhere (browsers clamp nested timeouts to 4 ms, so a yield there is slower but
 * still correct); `queueMicrotask` for `defer`. A MessageChannel would yield without a clamp but
 * keeps Deno's event loop alive while its port listens.
 */
export const portableRuntime: Runtime = {
  defer: (task) => queueMicrotask(task),
  yieldTurn: turnQueue((run) => {
    const immediate = (globalThis as { setImmediate?: (task: () => void) => unknown }).setImmediate;
    if (typeof immediate === "function") immediate(run);
    else setTimeout(run, 0);
  }),
  unrefTimer: (timer) => {
    const handle = timer as unknown as { unref?: () => unknown };
    if (typeof handle === "object" && handle !== null && typeof handle.unref === "function") handle.unref();
  },
};
