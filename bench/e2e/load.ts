/**
 * The load generator: one Node process driving every connection of a workload over raw
 * node:net sockets (no WebSocket library, so that its cost is small and the same for every
 * server). `node --import tsx bench/e2e/load.ts '<LoadSpec as JSON>'`; prints `phase measure`
 * when the timed window starts, `phase done` when it ends, and one line `result <JSON>` last.
 *
 * Why it should not be the bottleneck: every frame it sends is built and masked before the run
 * (a refill is one `write` of a slice of a pre-built buffer); it reads responses by counting
 * frame boundaries (a header parse per frame, no copy, no decoding); it writes once per chunk
 * read, however many frames that chunk completed. It reports its own CPU use over the timed
 * window, so a run where it saturated its core is visible (bench/e2e/run.ts flags it).
 *
 * Correctness: every response frame must be a final unmasked frame of the sent opcode (RSV1
 * allowed only with deflate) and, uncompressed, exactly the sent size; connection 0 compares
 * the content of every uncompressed echo with what it sent; a separate connection sends a
 * batch before the run and checks each echo byte for byte (inflating compressed ones).
 */
import * as net from "node:net";
import { performance } from "node:perf_hooks";
import { constants as zlibConstants, deflateRawSync, inflateRawSync } from "node:zlib";
import { checkResponseHead, clientFrame, closeFrame, handshakeKey, jsonPayloads, OPCODE_BINARY, OPCODE_CLOSE, OPCODE_TEXT, parseServerFrames, payloads, upgradeRequest } from "./frames.js";

export interface EchoSpec {
  kind: "echo";
  port: number;
  connections: number;
  inFlight: number;
  size: number;
  binary: boolean;
  deflate: boolean;
  warmupMs: number;
  measureMs: number;
}

export interface HandshakeSpec {
  kind: "handshake";
  port: number;
  concurrency: number;
  warmupMs: number;
  measureMs: number;
}

export interface IdleSpec {
  kind: "idle";
  port: number;
  connections: number;
}

export type LoadSpec = EchoSpec | HandshakeSpec | IdleSpec;

export interface LoadResult {
  /** Messages (echo), handshakes (handshake) or connections (idle) completed in the window. */
  count: number;
  /** Length of the timed window in seconds. */
  seconds: number;
  /** This process's CPU time over the window, as a share of one core (1 = saturated). */
  cpu: number;
}

const HOST = "127.0.0.1";
/** Connections opened at once while setting up: enough to be quick, few enough for any backlog. */
const CONNECT_CONCURRENCY = 100;
const HEAD_END = Buffer.from("\r\n\r\n");

function fail(message: string): never {
  process.stderr.write(`load: ${message}\n`);
  process.exit(1);
}

/**
 * Where a WebSocket's bytes go. The sockets read into one buffer shared by all of them (net's
 * `onread`), so that the generator allocates nothing per read: with a fresh 64 KiB buffer per
 * read, as Node's default reading does, the generator's own allocation and GC cost per 64 KiB
 * echo swung 50–180 µs from run to run and it, not the server, set E4's rate. Safe because a
 * reader uses each chunk before returning and keeps no view of it (copies what it keeps).
 */
interface Reader {
  read(chunk: Buffer): void;
}

const SHARED_READ_BUFFER = Buffer.allocUnsafe(64 * 1024);
const IGNORE: Reader["read"] = () => {};

interface OpenedWebSocket {
  socket: net.Socket;
  /** Bytes that followed the response head in its chunk (a copy). */
  rest: Buffer;
  /** Set `read` to receive what arrives next. */
  reader: Reader;
}

/** Opens a socket and completes the opening handshake. */
function openWebSocket(port: number, deflate: boolean): Promise<OpenedWebSocket> {
  return new Promise((resolve, reject) => {
    const { key, accept } = handshakeKey();
    const reader: Reader = { read: IGNORE };
    const socket = net.connect({
      host: HOST,
      port,
      noDelay: true,
      onread: {
        buffer: SHARED_READ_BUFFER,
        callback: (length: number, buffer: Uint8Array): boolean => {
          reader.read(buffer.subarray(0, length) as Buffer);
          return true; // keep reading
        },
      },
    });
    let head: Buffer = Buffer.alloc(0);
    reader.read = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf(HEAD_END);
      if (end < 0) return;
      reader.read = IGNORE;
      socket.off("error", reject);
      const problem = checkResponseHead(head.toString("latin1", 0, end), accept, deflate);
      if (problem !== null) reject(new Error(problem));
      else resolve({ socket, rest: head.subarray(end + 4), reader });
    };
    socket.on("error", reject);
    socket.on("connect", () => socket.write(upgradeRequest(port, key, deflate)));
  });
}

/** Opens `count` WebSockets, CONNECT_CONCURRENCY at a time. */
async function openMany(port: number, count: number, deflate: boolean): Promise<OpenedWebSocket[]> {
  const opened: OpenedWebSocket[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      next++;
      const webSocket = await openWebSocket(port, deflate);
      if (webSocket.rest.length > 0) throw new Error("the server sent a frame before any message");
      opened.push(webSocket);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONNECT_CONCURRENCY, count) }, worker));
  return opened;
}

/** The `count` payloads an echo workload sends, in rotation. */
function echoPayloads(spec: EchoSpec, count: number): Buffer[] {
  return spec.deflate ? jsonPayloads(count, spec.size) : payloads(count, spec.size, spec.binary);
}

/** The frame carrying `payload`: compressed as a browser would (sync flush, tail removed) with deflate. */
function echoFrame(spec: EchoSpec, payload: Buffer): Buffer {
  const opcode = spec.binary ? OPCODE_BINARY : OPCODE_TEXT;
  if (!spec.deflate) return clientFrame(opcode, payload);
  // Each message compressed on its own: valid for a server inflating with or without context
  // takeover, since it refers to no earlier message. (A browser with takeover would compress
  // better; the server's inflate work per byte is about the same.)
  const compressed = deflateMessage(payload);
  return clientFrame(opcode, compressed, true);
}

function deflateMessage(payload: Buffer): Buffer {
  // Z_SYNC_FLUSH ends with 00 00 ff ff, which RFC 7692 §7.2.1 removes.
  const flushed = deflateRawSync(payload, { finishFlush: zlibConstants.Z_SYNC_FLUSH });
  return flushed.subarray(0, flushed.length - 4);
}

/** Sends one batch on a fresh connection and checks every echo byte for byte. */
async function preflight(spec: EchoSpec, sent: Buffer[]): Promise<void> {
  const { socket, rest, reader } = await openWebSocket(spec.port, spec.deflate);
  socket.write(Buffer.concat(sent.map((payload) => echoFrame(spec, payload))));
  let input: Buffer = rest;
  const received: Buffer[] = [];
  const compressed: boolean[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`preflight: ${received.length} of ${sent.length} echoes in 10 s`)), 10_000);
    const take = (): void => {
      const { frames, used } = parseServerFrames(input);
      input = input.subarray(used);
      for (const frame of frames) {
        received.push(Buffer.from(frame.payload));
        compressed.push((frame.first & 0x40) !== 0);
      }
      if (received.length >= sent.length) {
        clearTimeout(timer);
        resolve();
      }
    };
    reader.read = (chunk: Buffer): void => {
      input = Buffer.concat([input, chunk]);
      take();
    };
    socket.on("error", reject);
    take();
  });
  socket.destroy();
  // Compressed echoes may depend on each other (context takeover): inflate them as one stream.
  const inflated = compressed.some(Boolean) ? inflateRawSync(Buffer.concat(received.flatMap((payload, i) => (compressed[i] ? [payload, Buffer.of(0, 0, 0xff, 0xff)] : []))), { finishFlush: zlibConstants.Z_SYNC_FLUSH }) : Buffer.alloc(0);
  let offset = 0;
  for (let i = 0; i < sent.length; i++) {
    let echoed = received[i]!;
    if (compressed[i]) {
      echoed = inflated.subarray(offset, offset + sent[i]!.length);
      offset += sent[i]!.length;
    }
    if (!echoed.equals(sent[i]!)) fail(`preflight: echo ${i} differs from what was sent`);
  }
}

/**
 * One connection of the echo workload: keeps `inFlight` messages outstanding, reading response
 * frame headers in place and skipping payloads, refilling with one write per chunk read.
 */
class EchoConnection {
  received = 0;
  private sent = 0;
  /** Header bytes of a frame split across chunks (rare; the fast path parses in place). */
  private readonly header = Buffer.alloc(10);
  private headerFill = 0;
  /** Payload bytes of the current frame still to come. */
  private remaining = 0;
  /** For the content check (connection 0, uncompressed): the payload being received and where. */
  private expected: Buffer | null = null;
  private expectedAt = 0;

  constructor(
    private readonly socket: net.Socket,
    private readonly reader: Reader,
    private readonly spec: EchoSpec,
    /** `rotation` frames, twice over: any run of ≤ rotation consecutive frames is one slice. */
    private readonly frames: Buffer,
    private readonly offsets: readonly number[],
    private readonly rotation: number,
    private readonly verify: readonly Buffer[] | null,
  ) {
    reader.read = this.onData;
    socket.on("error", (error) => fail(`socket error: ${error.message}`));
  }

  start(): void {
    this.send(this.spec.inFlight);
  }

  stop(): void {
    this.reader.read = IGNORE;
    this.socket.destroy();
  }

  private send(count: number): void {
    const from = this.sent % this.rotation;
    this.socket.write(this.frames.subarray(this.offsets[from]!, this.offsets[from + count]!));
    this.sent += count;
  }

  private readonly onData = (chunk: Buffer): void => {
    const before = this.received;
    const length = chunk.length;
    let at = 0;
    while (at < length) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, length - at);
        if (this.expected !== null) this.check(chunk, at, take);
        at += take;
        this.remaining -= take;
        if (this.remaining === 0) this.received++;
        continue;
      }
      if (this.headerFill === 0 && length - at >= 10) {
        at += this.frameHeader(chunk, at);
        continue;
      }
      // A header split across chunks: gather it byte by byte.
      this.header[this.headerFill++] = chunk[at++]!;
      const size = this.headerFill >= 2 ? headerSize(this.header[1]!) : 10;
      if (this.headerFill === size) {
        this.headerFill = 0;
        this.frameHeader(this.header, 0);
      }
    }
    const done = this.received - before;
    if (done > 0) {
      if (this.received > this.sent) fail("more echoes than messages sent");
      this.send(done);
    }
  };

  /** Reads the header at `at`, checks it, returns its size. */
  private frameHeader(bytes: Buffer, at: number): number {
    const first = bytes[at]!;
    const second = bytes[at + 1]!;
    const opcode = this.spec.binary ? OPCODE_BINARY : OPCODE_TEXT;
    if ((first & 0xbf) !== (0x80 | opcode) || ((first & 0x40) !== 0 && !this.spec.deflate)) fail(`unexpected frame header byte 0x${first.toString(16)}`);
    if ((second & 0x80) !== 0) fail("a server frame is masked");
    const size = headerSize(second);
    let payload = second & 0x7f;
    if (payload === 126) payload = bytes.readUInt16BE(at + 2);
    else if (payload === 127) payload = Number(bytes.readBigUInt64BE(at + 2));
    if ((first & 0x40) === 0 && payload !== this.spec.size) fail(`echo of ${payload} bytes, sent ${this.spec.size}`);
    if (this.verify !== null && (first & 0x40) === 0) {
      this.expected = this.verify[this.received % this.rotation]!;
      this.expectedAt = 0;
    } else this.expected = null;
    this.remaining = payload;
    if (payload === 0) this.received++;
    return size;
  }

  private check(chunk: Buffer, at: number, take: number): void {
    if (!chunk.subarray(at, at + take).equals(this.expected!.subarray(this.expectedAt, this.expectedAt + take))) fail(`echo ${this.received} differs from what was sent`);
    this.expectedAt += take;
  }
}

function headerSize(second: number): number {
  const length = second & 0x7f;
  return length < 126 ? 2 : length === 126 ? 4 : 10;
}

/** Resolves after the warm-up, measures the window, stops the connections. */
async function timedWindow(spec: { warmupMs: number; measureMs: number }, counter: () => number, stop: () => void): Promise<LoadResult> {
  await sleep(spec.warmupMs);
  process.stdout.write("phase measure\n");
  const startCount = counter();
  const startCpu = process.cpuUsage();
  const start = performance.now();
  await sleep(spec.measureMs);
  const count = counter() - startCount;
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(startCpu);
  process.stdout.write("phase done\n");
  stop();
  return { count, seconds, cpu: (cpu.user + cpu.system) / 1e6 / seconds };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function runEcho(spec: EchoSpec): Promise<LoadResult> {
  // At least 8 distinct payloads, so that connection 0's check sees messages rotate.
  const rotation = Math.max(spec.inFlight, 8);
  const sent = echoPayloads(spec, rotation);
  await preflight(spec, sent);
  const one = sent.map((payload) => echoFrame(spec, payload));
  const frames = Buffer.concat([...one, ...one]);
  const offsets = [0];
  for (const frame of [...one, ...one]) offsets.push(offsets[offsets.length - 1]! + frame.length);
  const opened = await openMany(spec.port, spec.connections, spec.deflate);
  const connections = opened.map(({ socket, reader }, i) => new EchoConnection(socket, reader, spec, frames, offsets, rotation, i === 0 && !spec.deflate ? sent : null));
  for (const connection of connections) connection.start();
  const counter = (): number => {
    let total = 0;
    for (const connection of connections) total += connection.received;
    return total;
  };
  return timedWindow(spec, counter, () => {
    for (const connection of connections) connection.stop();
  });
}

/**
 * `concurrency` loops of connect → upgrade → close handshake → the server closes TCP, each
 * starting its next connection when the last one closed, until the window ends.
 */
async function runHandshakes(spec: HandshakeSpec): Promise<LoadResult> {
  const close = closeFrame();
  let completed = 0;
  let running = true;
  let live = 0;
  let allDone: () => void = () => {};
  const one = (): void => {
    live++;
    const { key, accept } = handshakeKey();
    const socket = net.connect({ host: HOST, port: spec.port, noDelay: true });
    let input: Buffer = Buffer.alloc(0);
    let opened = false;
    let closed = false;
    socket.on("connect", () => socket.write(upgradeRequest(spec.port, key, false)));
    socket.on("data", (chunk: Buffer) => {
      input = input.length === 0 ? chunk : Buffer.concat([input, chunk]);
      if (!opened) {
        const end = input.indexOf(HEAD_END);
        if (end < 0) return;
        const problem = checkResponseHead(input.toString("latin1", 0, end), accept, false);
        if (problem !== null) fail(problem);
        opened = true;
        input = input.subarray(end + 4);
        socket.write(close);
      }
      const { frames } = parseServerFrames(input);
      if (frames.length > 0) {
        if ((frames[0]!.first & 0x0f) !== OPCODE_CLOSE) fail("expected the server's close frame");
        closed = true;
      }
    });
    socket.on("error", (error) => fail(`handshake socket: ${error.message}`));
    // The server closes TCP after the closing handshake (RFC 6455 §7.1.1); our end follows.
    socket.on("close", () => {
      if (!closed) fail("the connection closed before the closing handshake completed");
      completed++;
      live--;
      if (running) one();
      else if (live === 0) allDone();
    });
  };
  for (let i = 0; i < spec.concurrency; i++) one();
  const result = await timedWindow(spec, () => completed, () => {
    running = false;
  });
  if (live > 0) await new Promise<void>((resolve) => (allDone = resolve));
  return result;
}

/** Opens the connections, says `ready`, and holds them until told `close` on stdin. */
async function runIdle(spec: IdleSpec): Promise<LoadResult> {
  const start = performance.now();
  const sockets = (await openMany(spec.port, spec.connections, false)).map(({ socket }) => socket);
  for (const socket of sockets) socket.on("error", (error) => fail(`idle socket: ${error.message}`));
  const seconds = (performance.now() - start) / 1000;
  process.stdout.write("phase ready\n");
  await new Promise<void>((resolve) => {
    process.stdin.on("data", (data: Buffer) => {
      if (data.toString().includes("close")) resolve();
    });
    process.stdin.on("end", () => resolve());
  });
  for (const socket of sockets) socket.destroy();
  return { count: sockets.length, seconds, cpu: 0 };
}

const spec = JSON.parse(process.argv[2] ?? "null") as LoadSpec | null;
if (spec === null) fail("usage: load.ts '<LoadSpec JSON>'");
// Bounded: whatever happens, this process does not outlive its work by much.
const limitMs = spec.kind === "idle" ? 300_000 : spec.warmupMs + spec.measureMs + 60_000;
setTimeout(() => fail(`still running after ${limitMs} ms`), limitMs).unref();
const result = spec.kind === "echo" ? await runEcho(spec) : spec.kind === "handshake" ? await runHandshakes(spec) : await runIdle(spec);
process.stdout.write(`result ${JSON.stringify(result)}\n`);
process.exit(0);
