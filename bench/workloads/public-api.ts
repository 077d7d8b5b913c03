/**
 * W1–W5, W7: the public `WSConnection` against ws 8's public `WebSocket` (with and without its
 * native bufferutil) and, for handshakes, websocket-driver — same process, same run, same bytes.
 * (W6, permessage-deflate, is in ./public-deflate.ts; M1, heap per connection, in ../memory.ts.)
 *
 * - Handshakes happen outside the timed region (except W7, which times them).
 * - Received bytes come in 64 KiB chunks over one buffer; both sides unmask in place, so every
 *   pass starts from a pristine copy written untimed (`prepare`).
 * - ws runs as its WebSocketServer runs it after a handshake: `setSocket` on a stand-in socket
 *   that emits the chunks as 'data' and collects what ws writes (./support/ws.ts).
 * - Every pass checks its answer: message count, byte count and content.
 * - Text: ws hands a Buffer to 'message', so its contender calls toString() as an application
 *   would; wsmachine yields strings. Binary: ws hands one Buffer per message; wsmachine hands out
 *   pieces as they arrive (its API: a payload within one chunk is not copied), so "joined"
 *   contenders join them into one array, as an application that needs one buffer would.
 */
import { createRequire } from "node:module";
import { lazyWorkload, type Check, type Contender, type Workload } from "../harness.js";
import { AcceptConnection, BytesMessage, ConnectionType, Request, TextMessage, WSConnection, type ConnectionOptions, type Event } from "../../src/index.js";
import { setByteAllocator } from "../../codec/bytes.js";
import { FrameEncoder } from "../../codec/frame-encoder.js";
import { getDefaultMasker, portableMasker, setMasker, type Masker } from "../../codec/mask.js";
import { nativeMasker } from "../../src/node/native-masker.js";
import { uninitializedAllocator } from "../../src/node/allocator.js";
import { loadWs, openWs, type WsModules } from "./support/ws.js";
import { check, openPair, WireInput } from "./support/wire.js";

const wsNative = loadWs(true);
const wsPlain = loadWs(false);
const WS = "ws";
const WS_PLAIN = "ws (no bufferutil)";
const native = nativeMasker();
if (native === null) throw new Error("bench: no native masker (install the bufferutil devDependency)");

/** Contender names. */
const OURS = "wsmachine";
const OURS_NATIVE = `wsmachine + ${native.source} masker`;
const OURS_JS = "wsmachine, JS masker";
/** W3's floor: the wire chunks copied into one array, nothing decoded or unmasked. */
const COPY_REFERENCE = "copy only (reference)";
if (getDefaultMasker() === portableMasker) throw new Error("bench: the WebAssembly SIMD masker is unavailable here");

/** The maskers wsmachine runs with: its default (WebAssembly SIMD), the plain-JS one, the native one. */
const MASKERS: Record<"default" | "js" | "native", { suffix: string; masker: Masker | null }> = {
  default: { suffix: OURS, masker: null },
  js: { suffix: OURS_JS, masker: portableMasker },
  native: { suffix: OURS_NATIVE, masker: native.masker },
};

const wsVariants: Array<[string, WsModules]> = [
  [WS, wsNative],
  [WS_PLAIN, wsPlain],
];

/** A connection created while `masker` is the process masker (codecs take it at creation). */
function openWith(masker: Masker | null, serverOptions: ConnectionOptions = {}): { client: WSConnection; server: WSConnection } {
  setMasker(masker);
  try {
    return openPair(undefined, serverOptions);
  } finally {
    setMasker(null);
  }
}

/** wsmachine/node's accelerations together: its native masker and its uninitialised allocator. */
const OURS_NODE = "wsmachine/node";

/** Runs `run` with wsmachine/node's allocator plugged (process-wide, so only for its duration). */
function withNodeAllocator<T>(run: () => T): T {
  setByteAllocator(uninitializedAllocator);
  try {
    return run();
  } finally {
    setByteAllocator(null);
  }
}

/** Masked frames as a client sends them, with fresh random keys. */
function clientFrames(count: number, make: (encoder: FrameEncoder, index: number) => Uint8Array): { frames: Uint8Array[]; total: number } {
  const encoder = new FrameEncoder({ client: true });
  const frames: Uint8Array[] = [];
  let total = 0;
  for (let i = 0; i < count; i++) {
    const frame = make(encoder, i);
    frames.push(frame);
    total += frame.length;
  }
  return { frames, total };
}

// ---------------------------------------------------------------------------------------------
// W1: 200,000 masked 16-byte text frames → strings

function w1(): Workload {
  const count = 200_000;
  const messages = Array.from({ length: 16 }, (_, i) => `message #${String(i).padStart(2, "0")} ok!`.slice(0, 16));
  const { frames, total } = clientFrames(count, (encoder, i) => encoder.text(messages[i & 15]!));
  const input = new WireInput(frames, total);
  const buffers = input.buffers();
  const server = openWith(null).server;
  const ours: Contender = {
    name: OURS,
    prepare: () => input.restore(),
    run: () => {
      let received = 0;
      let wrong = 0;
      let partial = "";
      for (const chunk of input.chunks) {
        server.receiveData(chunk);
        for (const event of server.events()) {
          if (!(event instanceof TextMessage)) throw new Error(`unexpected ${event.type}`);
          // A frame cut by a chunk boundary comes in two pieces, joined as an application would.
          if (!event.messageFinished) {
            partial += event.data;
            continue;
          }
          const text = partial === "" ? event.data : partial + event.data;
          partial = "";
          if (text !== messages[received & 15]) wrong++;
          received++;
        }
      }
      check(received === count && wrong === 0, `${received} messages, ${wrong} wrong`);
      return received;
    },
  };
  const theirs = wsVariants.map(([name, modules]): Contender => {
    const { websocket, socket } = openWs(modules, "server");
    let received = 0;
    let wrong = 0;
    websocket.on("message", (data: Buffer, isBinary: boolean) => {
      const text = isBinary ? "" : data.toString();
      if (text !== messages[received & 15]) wrong++;
      received++;
    });
    return {
      name,
      prepare: () => input.restore(),
      run: () => {
        received = 0;
        wrong = 0;
        for (const chunk of buffers) socket.emit("data", chunk);
        check(received === count && wrong === 0, `${received} messages, ${wrong} wrong`);
        return received;
      },
    };
  });
  return {
    id: "W1",
    title: "parse 200,000 masked 16 B text frames (64 KiB chunks) to strings",
    unit: "msg/s",
    contenders: [ours, ...theirs],
    baseline: WS,
    checks: [{ contender: OURS, baseline: WS, ratio: 1.5 }, { contender: OURS, baseline: WS_PLAIN, ratio: 1.5 }],
  };
}

// ---------------------------------------------------------------------------------------------
// W2, W3: masked binary frames → bytes

/** Byte `index` of message `message`. */
function patternByte(message: number, index: number): number {
  return (index * 31 + message * 7 + (index >>> 12)) & 0xff;
}

const SAMPLE_STRIDE = 4093;

function binaryFrames(count: number, size: number): WireInput {
  const payload = new Uint8Array(size);
  const { frames, total } = clientFrames(count, (encoder, m) => {
    for (let i = 0; i < size; i++) payload[i] = patternByte(m, i);
    return encoder.binary(payload);
  });
  return new WireInput(frames, total);
}

/** Checks a received piece of message `message` starting at `offset`; returns the mismatches. */
function checkPiece(piece: Uint8Array, message: number, offset: number): number {
  let wrong = 0;
  for (let i = (SAMPLE_STRIDE - (offset % SAMPLE_STRIDE)) % SAMPLE_STRIDE; i < piece.length; i += SAMPLE_STRIDE) {
    if (piece[i] !== patternByte(message, offset + i)) wrong++;
  }
  // The last byte too, so a short or shifted piece cannot pass.
  if (piece.length > 0 && piece[piece.length - 1] !== patternByte(message, offset + piece.length - 1)) wrong++;
  return wrong;
}

/**
 * How a Node application joins the pieces of a message: Buffer.concat (one uninitialised
 * allocation and one copy; a single piece is returned as is) — what ws does internally too.
 */
function join(pieces: Uint8Array[], total: number): Uint8Array {
  if (pieces.length === 1) return pieces[0]!;
  return Buffer.concat(pieces, total);
}

function binaryParseWorkload(options: {
  id: string;
  title: string;
  count: number;
  size: number;
  checks: Check[];
  /**
   * The wsmachine contenders: maskers, and pieces as handed out, joined by the application into
   * one array per message, or assembled by the connection (`assembleMessages`); `node`: with
   * wsmachine/node's allocator too.
   */
  ours: Array<{ masker: keyof typeof MASKERS; form: "pieces" | "joined" | "assembled"; node?: boolean }>;
  /** Also time a plain copy of the wire chunks into one array (no decoding, no unmasking). */
  copyReference?: boolean;
  note: string;
  /** The child process's environment (Workload.env). */
  env?: Readonly<Record<string, string>>;
}): Workload {
  const { count, size } = options;
  const input = binaryFrames(count, size);
  const buffers = input.buffers();
  const restore = () => input.restore();
  const contenders: Contender[] = [];
  const forms = new Set(options.ours.map((variant) => variant.form));
  for (const { masker, form, node } of options.ours) {
    {
      const server = openWith(MASKERS[masker].masker, { assembleMessages: form === "assembled" }).server;
      const name =
        node === true ? `${OURS_NODE}, ${form}` : `${MASKERS[masker].suffix}${forms.size > 1 && form !== "pieces" ? `, ${form}` : ""}`;
      const pass = () => {
          let bytes = 0;
          let messages = 0;
          let wrong = 0;
          let offset = 0;
          const pieces: Uint8Array[] = [];
          for (const chunk of input.chunks) {
            server.receiveData(chunk);
            for (const event of server.events()) {
              if (!(event instanceof BytesMessage)) throw new Error(`unexpected ${event.type}`);
              const piece = event.data;
              if (form === "assembled") check(event.messageFinished && piece.length === size, `assembled message ${messages}: ${piece.length} bytes`);
              if (form === "pieces") {
                wrong += checkPiece(piece, messages, offset);
                offset += piece.length;
                bytes += piece.length;
                if (event.messageFinished) {
                  check(offset === size, `message ${messages}: ${offset} bytes`);
                  messages++;
                  offset = 0;
                }
              } else {
                pieces.push(piece);
                offset += piece.length;
                if (event.messageFinished) {
                  const message = join(pieces, offset);
                  pieces.length = 0;
                  wrong += checkPiece(message, messages, 0);
                  bytes += message.length;
                  check(message.length === size, `message ${messages}: ${message.length} bytes`);
                  messages++;
                  offset = 0;
                }
              }
            }
          }
          check(messages === count && bytes === count * size && wrong === 0, `${messages} messages, ${bytes} bytes, ${wrong} wrong`);
          return bytes;
      };
      contenders.push({ name, prepare: restore, run: node === true ? () => withNodeAllocator(pass) : pass });
    }
  }
  if (options.copyReference === true) {
    contenders.push({
      name: COPY_REFERENCE,
      prepare: restore,
      run: () => {
        // What any joined delivery must at least do: one uninitialised array, one copy of the bytes.
        const out = Buffer.allocUnsafe(input.length);
        let offset = 0;
        for (const chunk of input.chunks) {
          out.set(chunk, offset);
          offset += chunk.length;
        }
        check(offset === input.length && out[input.length - 1] === input.chunks.at(-1)!.at(-1), "copy");
        return count * size;
      },
    });
  }
  for (const [name, modules] of wsVariants) {
    const { websocket, socket } = openWs(modules, "server");
    let bytes = 0;
    let messages = 0;
    let wrong = 0;
    websocket.on("message", (data: Buffer) => {
      wrong += checkPiece(data, messages, 0);
      if (data.length !== size) wrong++;
      bytes += data.length;
      messages++;
    });
    contenders.push({
      name,
      prepare: restore,
      run: () => {
        bytes = 0;
        messages = 0;
        wrong = 0;
        for (const chunk of buffers) socket.emit("data", chunk);
        check(messages === count && bytes === count * size && wrong === 0, `${messages} messages, ${bytes} bytes, ${wrong} wrong`);
        return bytes;
      },
    });
  }
  return { id: options.id, title: options.title, unit: "MB/s", contenders, baseline: WS, checks: options.checks, note: options.note, env: options.env };
}

function w2(): Workload {
  return binaryParseWorkload({
    id: "W2",
    title: "parse 2,000 masked 64 KiB binary frames (64 KiB chunks)",
    count: 2000,
    size: 64 * 1024,
    ours: [
      { masker: "default", form: "pieces" },
      { masker: "js", form: "pieces" },
      { masker: "native", form: "pieces" },
      { masker: "default", form: "joined" },
      { masker: "native", form: "joined" },
    ],
    checks: [
      { contender: OURS, baseline: WS_PLAIN, ratio: 4 },
      { contender: OURS_JS, baseline: WS_PLAIN, ratio: 4 },
      { contender: OURS_NATIVE, baseline: WS, ratio: 1 },
    ],
    note:
      "A 64 KiB frame plus header spans two 64 KiB chunks: wsmachine hands out two pieces without copying (\"pieces\"); \", joined\" copies them into one array per message, which ws always does.",
  });
}

/*
 * W3 allocates one 16 MiB message per pass on both sides (Buffer.allocUnsafe: in ws's Receiver,
 * in the application's Buffer.concat for wsmachine). With glibc's defaults (a dynamic mmap
 * threshold) some of those allocations still land on fresh pages — ~4,100 page faults, ~50 ms
 * on the 2-core VM, the work of 20–30 passes — and which contender's passes did changed from
 * round to round (one quick run: ws's in two rounds of three, 270 MB/s against 3,500 in the
 * third), so single runs gave anything from 0.6× to 2.5×. A fixed mmap threshold of 32 MiB
 * (the ceiling of glibc's dynamic one on 64-bit) serves every message from the heap, and a
 * trim threshold of 1 GiB keeps what a pass frees mapped for the next: both contenders reuse
 * warm memory, ~50 faults per pass. Both are needed: setting either turns the dynamic
 * threshold off, so the trim threshold alone (W5's) mmaps, and faults in, every message.
 * glibc reads the tunables at startup, hence the child's environment; other C libraries
 * ignore them.
 *
 * No GC is forced between passes (the harness's GC between rounds aside). A full GC before
 * every pass, tried as a way to free the last pass's message, left V8 running at ~1% mutator
 * utilisation, and its heuristics then started incremental marking inside most of the next
 * passes that allocated on the JS heap after their 16 MiB array: +2–5 ms on a ~1.5 ms pass
 * (--trace-incremental-marking: marking started in 102 of 120 assembled passes, 13 of 120 for
 * ws), a harness artifact no application sees. With the tunables alone a pass faults in ~0 pages.
 */
const W3_ENV = { GLIBC_TUNABLES: "glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=1073741824" } as const;

function w3(): Workload {
  return binaryParseWorkload({
    id: "W3",
    title: "parse one masked 16 MiB binary frame (64 KiB chunks), joined into one message",
    count: 1,
    size: 16 * 1024 * 1024,
    ours: [
      { masker: "default", form: "joined" },
      { masker: "default", form: "assembled" },
      { masker: "js", form: "assembled" },
      { masker: "native", form: "joined" },
      { masker: "native", form: "assembled", node: true },
    ],
    copyReference: true,
    checks: [
      // Issue 19: against ws with bufferutil the target is 1.0× (a bare copy of the chunks
      // measures 1.55–1.82× ws, and an assembled delivery within ~1.5× of a bare copy is enough).
      { contender: `${OURS}, assembled`, baseline: WS, ratio: 1.0 },
      { contender: `${OURS}, assembled`, baseline: WS_PLAIN, ratio: 1.5 },
      { contender: `${OURS_NODE}, assembled`, baseline: WS, ratio: 1.0 },
    ],
    note:
      "wsmachine hands out 256 pieces of 64 KiB as they arrive, unmasked in place; the application keeps them and joins them with Buffer.concat at the end (timed). ws buffers the chunks, copies them into one buffer (the same allocation) and unmasks that. The child process runs with glibc's mmap threshold at 32 MiB and trim threshold at 1 GiB, so that every pass of either contender allocates its 16 MiB message from memory an earlier pass freed instead of fresh pages (~50 ms of page faults each on this VM, which otherwise decided the figures by chance). The MB/s are those of a warm allocator; where a message gets fresh pages, both pay the faults on top.",
    env: W3_ENV,
  });
}

// ---------------------------------------------------------------------------------------------
// W4: client sends 200,000 16-byte text messages (masked)

function w4(): Workload {
  const count = 200_000;
  const text = "0123456789abcdef";
  const frameLength = 2 + 4 + 16;
  const client = openWith(null).client;
  const ours: Contender = {
    name: OURS,
    run: () => {
      let bytes = 0;
      let last: Uint8Array | null = null;
      for (let i = 0; i < count; i++) {
        last = client.send(new TextMessage({ data: text }));
        bytes += last.length;
      }
      check(bytes === count * frameLength, `${bytes} bytes`);
      check(last !== null && last[0] === 0x81 && last[1] === 0x90 && (last[6]! ^ last[2]!) === 0x30, "frame");
      return count;
    },
  };
  const theirs = wsVariants.map(([name, modules]): Contender => {
    const { websocket, socket } = openWs(modules, "client");
    let last: Uint8Array | null = null;
    socket.sink = (chunk) => {
      last = chunk;
    };
    return {
      name,
      run: () => {
        socket.bytes = 0;
        for (let i = 0; i < count; i++) websocket.send(text);
        check(socket.bytes === count * frameLength, `${socket.bytes} bytes`);
        check(last !== null && last.length === 16, "payload chunk");
        return count;
      },
    };
  });
  return {
    id: "W4",
    title: "encode 200,000 16 B text messages as a client (masked)",
    unit: "msg/s",
    contenders: [ours, ...theirs],
    baseline: WS,
    checks: [{ contender: OURS, baseline: WS, ratio: 1.5 }, { contender: OURS, baseline: WS_PLAIN, ratio: 1.5 }],
    note: "wsmachine: `send(new TextMessage(…))` returns one buffer per frame; ws: `send(text)`, whose frame reaches the socket as a header and a payload chunk.",
  };
}

// ---------------------------------------------------------------------------------------------
// W5: server sends 2,000 64 KiB binary messages

/*
 * A pass frees its 131 MB of frames or copies (64 KiB each, below glibc's mmap threshold, so
 * from the brk heap) at the next collection. With glibc's default trim threshold (128 KiB)
 * free() hands most of it back to the kernel, and the next pass page-faults a share of its
 * pages that varied from pass to pass and run to run, in either contender's favour: 0 to
 * 27,000 faults per pass (of 32,000 pages), ~15 µs each on the 2-core VM, at worst most of a pass,
 * so single runs gave send()/memcpy anywhere from 0.58× to 2.2×. A threshold above anything W5
 * frees keeps that memory mapped for both allocating contenders alike. glibc reads it at
 * startup, hence the child process's environment; other C libraries ignore it.
 */
const W5_ENV = { GLIBC_TUNABLES: "glibc.malloc.trim_threshold=1073741824" } as const;

function w5(): Workload {
  const count = 2000;
  const size = 64 * 1024;
  const headerLength = 10; // 64 KiB needs the 64-bit length form
  const frameLength = size + headerLength;
  const payloads = Array.from({ length: 8 }, (_, m) => {
    const payload = new Uint8Array(size);
    for (let i = 0; i < size; i++) payload[i] = patternByte(m, i);
    return payload;
  });
  const server = openPair().server;
  // Each pass allocates 131 MB of frames (or copies): collect the last pass's first (untimed),
  // so that both allocating contenders find freed memory rather than fresh pages (which takes
  // W5_ENV: without it, glibc returns what this collection frees to the kernel).
  const gc = (globalThis as { gc?: () => void }).gc;
  const collect = gc === undefined ? undefined : () => gc();
  const single: Contender = {
    name: `${OURS} send()`,
    prepare: collect,
    run: () => {
      let bytes = 0;
      let wrong = 0;
      for (let i = 0; i < count; i++) {
        const frame = server.send(new BytesMessage({ data: payloads[i & 7]! }));
        bytes += frame.length;
        if (frame[headerLength] !== patternByte(i & 7, 0) || frame[frame.length - 1] !== patternByte(i & 7, size - 1)) wrong++;
      }
      check(bytes === count * frameLength && wrong === 0, `${bytes} bytes, ${wrong} wrong`);
      return count * size;
    },
  };
  const nodeSingle: Contender = {
    name: `${OURS_NODE} send()`,
    prepare: collect,
    run: () => withNodeAllocator(single.run),
  };
  const memcpy: Contender = {
    name: "memcpy (payload.slice())",
    prepare: collect,
    run: () => {
      let bytes = 0;
      let wrong = 0;
      for (let i = 0; i < count; i++) {
        const copy = payloads[i & 7]!.slice();
        bytes += copy.length;
        if (copy[0] !== patternByte(i & 7, 0) || copy[size - 1] !== patternByte(i & 7, size - 1)) wrong++;
      }
      check(bytes === count * size && wrong === 0, `${bytes} bytes, ${wrong} wrong`);
      return count * size;
    },
  };
  const parts: Contender = {
    name: `${OURS} sendParts()`,
    run: () => {
      let bytes = 0;
      let wrong = 0;
      for (let i = 0; i < count; i++) {
        const chunks = server.sendParts(new BytesMessage({ data: payloads[i & 7]! }));
        for (const chunk of chunks) bytes += chunk.length;
        if (chunks.length !== 2 || chunks[1] !== payloads[i & 7] || chunks[0]![1] !== 127) wrong++;
      }
      check(bytes === count * frameLength && wrong === 0, `${bytes} bytes, ${wrong} wrong`);
      return count * size;
    },
  };
  const theirs = wsVariants.map(([name, modules]): Contender => {
    const { websocket, socket } = openWs(modules, "server");
    let last: Uint8Array | null = null;
    socket.sink = (chunk) => {
      last = chunk;
    };
    return {
      name,
      run: () => {
        socket.bytes = 0;
        socket.writes = 0;
        for (let i = 0; i < count; i++) websocket.send(payloads[i & 7]!);
        check(socket.bytes === count * frameLength && socket.writes === 2 * count, `${socket.bytes} bytes in ${socket.writes} writes`);
        check(last !== null && last.length === size && last[size - 1] === patternByte((count - 1) & 7, size - 1), "payload chunk");
        return count * size;
      },
    };
  });
  return {
    id: "W5",
    title: "encode 2,000 64 KiB binary messages as a server",
    unit: "MB/s",
    contenders: [single, nodeSingle, memcpy, parts, ...theirs],
    baseline: WS,
    checks: [
      { contender: `${OURS} send()`, baseline: "memcpy (payload.slice())", ratio: 0.8 },
      { contender: `${OURS_NODE} send()`, baseline: "memcpy (payload.slice())", ratio: 0.8 },
      { contender: `${OURS} sendParts()`, baseline: WS, ratio: 1.0 },
    ],
    note:
      "send() returns the frame in one new buffer (header + a copy of the payload); sendParts() returns [header, payload] for writev, the payload uncopied, as ws writes it. memcpy: a copy of the payload into a new array, nothing else. send() and memcpy allocate their arrays the same way (zero-filled, then copied into); a GC runs (untimed) before each of their passes, and the child process runs with glibc's malloc trim threshold at 1 GiB, so that the memory a pass frees is reused by the next one instead of being returned to the kernel and faulted in again page by page (which otherwise decides the figures by chance). The MB/s are therefore those of a warm allocator; where freed memory goes back to the kernel, both pay page faults on top.",
    env: W5_ENV,
  };
}

// ---------------------------------------------------------------------------------------------
// W7: complete opening handshakes

interface DriverLike {
  io: { on(event: "data", listener: (chunk: Buffer) => void): void };
  on(event: string, listener: (...args: unknown[]) => void): void;
  parse(chunk: Buffer): void;
  start(): boolean;
  getState?(): string;
}

function w7(): Workload {
  const perPass = 500;
  const ours: Contender = {
    name: OURS,
    run: () => {
      let opened = 0;
      for (let i = 0; i < perPass; i++) {
        const client = new WSConnection(ConnectionType.CLIENT);
        const server = new WSConnection(ConnectionType.SERVER);
        server.receiveData(client.send(new Request({ host: "example.com", target: "/chat" })));
        let request: Event | null = null;
        for (const event of server.events()) request = event;
        if (!(request instanceof Request)) throw new Error("no request");
        client.receiveData(server.send(new AcceptConnection()));
        for (const event of client.events()) if (event instanceof AcceptConnection && client.state === "OPEN") opened++;
      }
      check(opened === perPass, `${opened} handshakes`);
      return perPass;
    },
  };
  const require = createRequire(import.meta.url);
  const driver = require("websocket-driver") as { client(url: string): DriverLike; server(): DriverLike };
  const theirs: Contender = {
    name: "websocket-driver",
    run: () => {
      let opened = 0;
      for (let i = 0; i < perPass; i++) {
        const client = driver.client("ws://example.com/chat");
        const server = driver.server();
        client.io.on("data", (chunk) => server.parse(chunk));
        server.io.on("data", (chunk) => client.parse(chunk));
        server.on("connect", () => server.start());
        client.on("open", () => opened++);
        client.start();
      }
      check(opened === perPass, `${opened} handshakes`);
      return perPass;
    },
  };
  return {
    id: "W7",
    title: "complete opening handshakes (client request → server accept → client OPEN)",
    unit: "ops/s",
    contenders: [ours, theirs],
    baseline: "websocket-driver",
    target: 1.5,
    minimum: 40_000,
    warmupMs: 1000,
    note: "Each op creates a client and a server connection and runs the whole handshake through them (ws cannot be driven without an HTTP stack and sockets, so it is not in this one).",
  };
}

export const workloads: Workload[] = [
  lazyWorkload("W1", "parse 200,000 masked 16 B text frames (64 KiB chunks) to strings", w1),
  lazyWorkload("W2", "parse 2,000 masked 64 KiB binary frames (64 KiB chunks)", w2),
  lazyWorkload("W3", "parse one masked 16 MiB binary frame (64 KiB chunks), joined into one message", w3, W3_ENV),
  lazyWorkload("W4", "encode 200,000 16 B text messages as a client (masked)", w4),
  lazyWorkload("W5", "encode 2,000 64 KiB binary messages as a server", w5, W5_ENV),
  lazyWorkload("W7", "complete opening handshakes (client request → server accept → client OPEN)", w7),
];
