/**
 * permessage-deflate: 1 KiB JSON-like text messages compressed by a client and decompressed by a
 * server, one after another (context takeover, 15-bit windows, zlib level 6 and memLevel 8 on
 * both sides), round trips per second.
 *
 * ws's permessage-deflate is asynchronous (callbacks over node:zlib's thread pool), while the
 * harness's `Contender.run` is synchronous, so ws cannot be a contender in `workloads`: the
 * workloads below carry an absolute `minimum` instead (4 × the ~2.5 k round trips/s ws was
 * reported to manage on this machine), and `measureAsync(wsContender())` /
 * `measureAsync(wsCodecContender())` measure ws over the same messages. Two levels:
 * - deflate-json-1k: the extension alone (our hooks vs ws's compress/decompress callbacks);
 * - deflate-json-1k-codec: the frame codec with the extension (FrameEncoder → FrameDecoder vs
 *   ws's Sender → Receiver), text in, text out, client frames masked, UTF-8 checked.
 * Running this file directly measures both sides of both in one process and prints the ratios:
 *
 *     node --expose-gc --import tsx bench/workloads/deflate.ts
 *
 * With an async-capable harness (`run: () => number | Promise<number>`), the ws contenders can
 * join the workloads as their baselines.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { DEFAULT_MEASURE_OPTIONS, measure, median, type Contender, type Workload } from "../harness.js";
import { FrameDecoder } from "../../codec/frame-decoder.js";
import { FrameEncoder } from "../../codec/frame-encoder.js";
import { NO_RSV_BITS, Opcode } from "../../codec/frame.js";
import { PerMessageDeflate } from "../../src/extensions/permessage-deflate.js";

const MESSAGES_PER_PASS = 200;
const MESSAGE_SIZE = 1024;
const MAX_MESSAGE = 64 * 1024 * 1024;

/** Deterministic JSON-like text, cut to exactly 1 KiB (ASCII). */
export function jsonMessages(count: number, seed = 1): Uint8Array[] {
  let state = seed >>> 0;
  const random = (): number => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  const words = ["alpha", "beta", "gamma", "delta", "user", "order", "status", "pending", "shipped", "price", "quantity", "sku", "warehouse", "customer", "email", "address", "Berlin", "Paris", "Tokyo", "true", "false", "null"];
  const pick = (): string => words[Math.floor(random() * words.length)]!;
  const encoder = new TextEncoder();
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const items: object[] = [];
    let text = "";
    while (text.length < MESSAGE_SIZE) {
      items.push({
        id: Math.floor(random() * 1e6),
        name: `${pick()}-${Math.floor(random() * 1000)}`,
        status: pick(),
        price: Math.round(random() * 10000) / 100,
        tags: [pick(), pick()],
        ts: 1_700_000_000_000 + Math.floor(random() * 1e9),
      });
      text = JSON.stringify({ type: "update", seq: i, items });
    }
    out.push(encoder.encode(text.slice(0, MESSAGE_SIZE)));
  }
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const messages = jsonMessages(2000);
const texts = messages.map((m) => new TextDecoder().decode(m));

/** A client and a server PerMessageDeflate negotiated with default parameters (15 bits, takeover). */
function wsmachinePair(): { client: PerMessageDeflate; server: PerMessageDeflate } {
  const client = new PerMessageDeflate({ threshold: 0 });
  const server = new PerMessageDeflate({ threshold: 0 });
  const offer = client.offer();
  const response = server.accept(offer === true ? "permessage-deflate" : `permessage-deflate; ${offer}`);
  if (response === null) throw new Error("negotiation failed");
  client.finalize(response === true ? "permessage-deflate" : `permessage-deflate; ${response}`);
  return { client, server };
}

function wsmachineContender(): Contender {
  const { client, server } = wsmachinePair();
  let next = 0;
  return {
    name: "wsmachine (pako, sync hooks)",
    run() {
      for (let i = 0; i < MESSAGES_PER_PASS; i++) {
        const message = messages[next]!;
        next = (next + 1) % messages.length;
        const { rsv, data } = client.frameOutbound(Opcode.TEXT, NO_RSV_BITS, message, true);
        server.frameInboundHeader(Opcode.TEXT, rsv, data.length);
        const body = server.frameInboundPayloadData(data, MAX_MESSAGE);
        const tail = server.frameInboundComplete(true, MAX_MESSAGE - body.length);
        const received = tail === null ? body : concat(body, tail);
        if (!rsv.rsv1 || !sameBytes(received, message)) throw new Error(`wsmachine: message ${next} came back wrong`);
      }
      return MESSAGES_PER_PASS;
    },
  };
}

/** Through the frame codec: FrameEncoder (client, masked) → FrameDecoder (server, UTF-8 checked), text in and out. */
function wsmachineCodecContender(): Contender {
  const { client, server } = wsmachinePair();
  const encoder = new FrameEncoder({ client: true, extensions: [client] });
  const decoder = new FrameDecoder({ client: false, maxMessageSize: MAX_MESSAGE, extensions: [server] });
  let next = 0;
  return {
    name: "wsmachine (FrameEncoder → FrameDecoder)",
    run() {
      for (let i = 0; i < MESSAGES_PER_PASS; i++) {
        const text = texts[next]!;
        next = (next + 1) % texts.length;
        decoder.receiveBytes(encoder.text(text));
        const frame = decoder.nextFrame();
        if (frame === null || !frame.messageFinished || frame.payload !== text) throw new Error(`wsmachine codec: message ${next} came back wrong`);
      }
      return MESSAGES_PER_PASS;
    },
  };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

// --- ws (async) ------------------------------------------------------------------------------

interface WsPerMessageDeflate {
  offer(): Record<string, unknown>;
  accept(configurations: unknown[]): Record<string, unknown>;
  compress(data: Uint8Array, fin: boolean, callback: (error: Error | null, result?: Buffer) => void): void;
  decompress(data: Uint8Array, fin: boolean, callback: (error: Error | null, result?: Buffer) => void): void;
}

const require = createRequire(import.meta.url);
const wsLib = join(dirname(require.resolve("ws")), "lib");
const WsPerMessageDeflate = require(join(wsLib, "permessage-deflate.js")) as new (options: object) => WsPerMessageDeflate;

function wsPair(): { client: WsPerMessageDeflate; server: WsPerMessageDeflate } {
  const client = new WsPerMessageDeflate({ threshold: 0, isServer: false });
  const server = new WsPerMessageDeflate({ threshold: 0, isServer: true });
  const accepted = server.accept([Object.fromEntries(Object.entries(client.offer()).map(([k, v]) => [k, [v]]))]);
  client.accept([Object.fromEntries(Object.entries(accepted).map(([k, v]) => [k, [v]]))]);
  return { client, server };
}

/** ws round trips one after another, as one connection sends them; same check as above. */
export function wsContender(): { name: string; run: () => Promise<number> } {
  const { client, server } = wsPair();
  let next = 0;
  const roundTrip = (message: Uint8Array): Promise<Buffer> =>
    new Promise((resolve, reject) =>
      client.compress(message, true, (error, compressed) => {
        if (error) return reject(error);
        server.decompress(compressed!, true, (error2, plain) => (error2 ? reject(error2) : resolve(plain!)));
      }),
    );
  return {
    name: "ws 8 permessage-deflate (async, node:zlib)",
    async run() {
      for (let i = 0; i < MESSAGES_PER_PASS; i++) {
        const message = messages[next]!;
        next = (next + 1) % messages.length;
        const received = await roundTrip(message);
        if (!sameBytes(received, message)) throw new Error(`ws: message ${next} came back wrong`);
      }
      return MESSAGES_PER_PASS;
    },
  };
}

interface WsReceiver {
  write(chunk: Uint8Array): boolean;
  on(event: "message", listener: (data: Buffer, isBinary: boolean) => void): this;
  on(event: "error", listener: (error: Error) => void): this;
}
interface WsSender {
  send(data: string, options: { binary: boolean; fin: boolean; mask: boolean; compress: boolean }, callback?: (error?: Error) => void): void;
}
const Receiver = require(join(wsLib, "receiver.js")) as new (options: object) => WsReceiver;
const Sender = require(join(wsLib, "sender.js")) as new (socket: object, extensions: object) => WsSender;

/**
 * ws end to end: a client Sender (masked, compressing) writes into a stand-in socket that feeds
 * a server Receiver (decompressing, UTF-8 validated); a pass sends a batch and waits for all of
 * it. ws pipelines here: the next message's deflate can run on the zlib thread pool while the
 * previous one inflates.
 */
export function wsCodecContender(): { name: string; run: () => Promise<number> } {
  const { client, server } = wsPair();
  const receiver = new Receiver({ isServer: true, maxPayload: MAX_MESSAGE, extensions: { "permessage-deflate": server } });
  const sender = new Sender(
    { cork() {}, uncork() {}, write: (chunk: Uint8Array, callback?: () => void) => (receiver.write(chunk), callback?.(), true) },
    { "permessage-deflate": client },
  );
  let expected: string[] = [];
  let received = 0;
  let done: (() => void) | null = null;
  let failure: Error | null = null;
  receiver.on("message", (data) => {
    if (data.toString() !== expected[received]) failure ??= new Error(`ws codec: message ${received} came back wrong`);
    received++;
    if (received === expected.length) done?.();
  });
  receiver.on("error", (error) => (failure ??= error));
  let next = 0;
  return {
    name: "ws 8 Sender → Receiver (async, node:zlib)",
    run() {
      expected = [];
      received = 0;
      for (let i = 0; i < MESSAGES_PER_PASS; i++) {
        expected.push(texts[next]!);
        next = (next + 1) % texts.length;
      }
      const finished = new Promise<void>((resolve) => (done = resolve));
      for (const text of expected) sender.send(text, { binary: false, fin: true, mask: true, compress: true });
      return finished.then(() => {
        if (failure) throw failure;
        return MESSAGES_PER_PASS;
      });
    },
  };
}

/** An async contender's median throughput, measured like the harness does (warm-up, rounds). */
export async function measureAsync(
  contender: { run: () => Promise<number> },
  options = DEFAULT_MEASURE_OPTIONS,
): Promise<{ median: number; samples: number[] }> {
  const timed = async (minimumMs: number): Promise<number> => {
    let amount = 0;
    let elapsed = 0;
    do {
      const start = performance.now();
      amount += await contender.run();
      elapsed += performance.now() - start;
    } while (elapsed < minimumMs);
    return amount / (elapsed / 1000);
  };
  await timed(options.warmupMs);
  const samples: number[] = [];
  for (let round = 0; round < options.rounds; round++) {
    const gc = (globalThis as { gc?: () => void }).gc;
    if (gc !== undefined) {
      gc();
      await timed(options.settleMs); // untimed: the heap regrows after a forced GC (see MeasureOptions)
    }
    samples.push(await timed(options.roundMs));
  }
  return { median: median(samples), samples };
}

/** ws's round trips/s on this machine (see the module comment), for the absolute target. */
const WS_ROUND_TRIPS_PER_SECOND = 2500;

export const workloads: Workload[] = [
  {
    id: "deflate-json-1k",
    title: "permessage-deflate round trips of 1 KiB JSON text (client deflate → server inflate, takeover, 15-bit)",
    unit: "msg/s",
    contenders: [wsmachineContender()],
    minimum: 4 * WS_ROUND_TRIPS_PER_SECOND,
  },
  {
    id: "deflate-json-1k-codec",
    title: "1 KiB JSON text, client encoder with permessage-deflate → server decoder (takeover, 15-bit)",
    unit: "msg/s",
    contenders: [wsmachineCodecContender()],
    minimum: 4 * WS_ROUND_TRIPS_PER_SECOND,
  },
];

// Run directly: both sides of each workload in one process, with the ratios.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const pairs = [
    [workloads[0]!, wsContender()],
    [workloads[1]!, wsCodecContender()],
  ] as const;
  for (const [workload, wsSide] of pairs) {
    const ours = measure(workload).contenders[0]!;
    const ws = await measureAsync(wsSide);
    console.log(workload.id);
    console.log(`  ${ours.name}: ${Math.round(ours.median)} msg/s (samples ${ours.samples.map(Math.round).join(", ")})`);
    console.log(`  ${wsSide.name}: ${Math.round(ws.median)} msg/s (samples ${ws.samples.map(Math.round).join(", ")})`);
    console.log(`  ratio ${(ours.median / ws.median).toFixed(2)}× (target ≥ 4×)`);
  }
}
