/**
 * The Transport (../runtime/transport.ts) over a Node byte Duplex: a net.Socket, a
 * tls.TLSSocket, an Http2Stream, or any other. Node buffers writes itself (`writableLength`)
 * and pauses reading with `pause()`, which for a socket stops reading from the kernel (TCP
 * backpressure) and for an HTTP/2 stream stops returning flow-control credit.
 */
import { Buffer } from "node:buffer";
import type { Duplex } from "node:stream";
import { ON_HEAP_MAX } from "../../codec/bytes.js";
import type { Runtime, Transport, TransportSink } from "../runtime/transport.js";
import { turnQueue } from "../runtime/turns.js";

/** Node's scheduling: process.nextTick before I/O, setImmediate after it. */
export const nodeRuntime: Runtime = {
  defer: (task) => process.nextTick(task),
  // Busy endpoints take turns (../runtime/turns.ts), one setImmediate for all of them.
  yieldTurn: turnQueue((run) => setImmediate(run)),
  unrefTimer: (timer) => {
    timer.unref();
  },
};

/**
 * The stream's listeners are these functions, the same for every stream, which find the sink
 * through a property of the stream (ws does the same): five closures per connection were a good
 * part of an idle connection's heap (bench:e2e R1, docs/performance.md).
 */
const SINK = Symbol("wsmachine.sink");
const TRANSPORT = Symbol("wsmachine.transport");
type AttachedStream = Duplex & { [SINK]: TransportSink; [TRANSPORT]: NodeTransport };

function streamData(this: AttachedStream, chunk: Uint8Array): void {
  this[SINK].transportData(chunk);
}
function streamEnd(this: AttachedStream): void {
  this[SINK].transportEnd();
}
function streamClose(this: AttachedStream): void {
  this[SINK].transportClose();
}
function streamError(this: AttachedStream, error: Error): void {
  this[SINK].transportError(error);
}
function streamDrain(this: AttachedStream): void {
  this[SINK].transportDrain();
}
function streamReadableAfterStop(this: AttachedStream): void {
  this[TRANSPORT].discardAfterStop();
}

/**
 * The Buffer Node's streams want, made without the cost Node's own conversion has for small
 * arrays. Writable.write turns any other Uint8Array into a Buffer over `bytes.buffer`; for the
 * codec's small arrays (frame headers, small frames: on the V8 heap up to ON_HEAP_MAX bytes),
 * reading `.buffer` moves the array off the heap into a backing store of its own, a malloc and a
 * GC-tracked external allocation per frame (bench:e2e E2: 8 % of the server's time). Copying
 * those few bytes into Node's shared pool instead is cheaper; larger arrays are already off the
 * heap and are wrapped, not copied.
 */
function asBuffer(bytes: Uint8Array): Buffer {
  if (Buffer.isBuffer(bytes)) return bytes;
  if (bytes.length <= ON_HEAP_MAX) return Buffer.from(bytes);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}

export class NodeTransport implements Transport {
  readonly stream: Duplex;
  /** Bytes that may still be read and dropped after `stopReading`. */
  private discardLeft = 0;

  constructor(stream: Duplex) {
    this.stream = stream;
  }

  start(sink: TransportSink): void {
    const stream = this.stream as AttachedStream;
    stream[SINK] = sink;
    stream[TRANSPORT] = this;
    // Latency matters more than packet count for a message protocol (ws does the same).
    const maybeNet = stream as Duplex & { setNoDelay?: (noDelay: boolean) => unknown };
    if (typeof maybeNet.setNoDelay === "function") maybeNet.setNoDelay(true);
    stream.on("data", streamData);
    stream.on("end", streamEnd);
    stream.on("close", streamClose);
    stream.on("error", streamError);
    stream.on("drain", streamDrain);
    // A socket handed over by node:http after 'upgrade' may have been left paused.
    stream.resume();
  }

  write(bytes: Uint8Array): boolean {
    return this.stream.write(asBuffer(bytes));
  }

  cork(): void {
    this.stream.cork();
  }

  uncork(): void {
    this.stream.uncork();
  }

  get bufferedAmount(): number {
    return this.stream.writableLength;
  }

  get writable(): boolean {
    return this.stream.writable;
  }

  get writableEnded(): boolean {
    return this.stream.writableEnded;
  }

  get destroyed(): boolean {
    return this.stream.destroyed;
  }

  pause(): void {
    this.stream.pause();
  }

  resume(): void {
    this.stream.resume();
  }

  /**
   * The stream leaves flowing mode for good: from now on it is read only by `read()` calls here,
   * which drop what they get (the endpoint ignores the 'data' they emit), up to `discardLimit`
   * bytes — enough for a polite peer's last frames and its FIN ('end', which Node emits only
   * once its buffer is empty). Past that the buffer fills, Node stops reading (one more read of
   * at most 64 KiB can land first), and a peer that keeps writing meets TCP backpressure until
   * the endpoint's close timer destroys the stream.
   */
  stopReading(discardLimit: number): void {
    this.discardLeft = discardLimit;
    this.stream.pause();
    // A 'readable' listener takes flow control from 'data' (which read() still emits).
    this.stream.on("readable", streamReadableAfterStop);
    this.discardAfterStop();
  }

  /** Read and drop what Node holds, as long as the whole of it fits within the discard limit. */
  discardAfterStop(): void {
    const stream = this.stream;
    while (stream.readableLength > 0 && stream.readableLength <= this.discardLeft) {
      const chunk = stream.read() as Uint8Array | null;
      if (chunk === null) return;
      this.discardLeft -= chunk.length;
    }
    // Nothing buffered: this read() lets Node notice an EOF it holds ('end').
    if (stream.readableLength === 0) stream.read(0);
  }

  end(): void {
    this.stream.end();
  }

  destroy(): void {
    this.stream.destroy();
  }
}
