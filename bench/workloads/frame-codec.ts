/**
 * Frame codec against ws 8's own Receiver and Sender, fed the same bytes in the same run.
 *
 * ws runs without its native add-ons (bufferutil, utf-8-validate): they are not installed, and
 * the environment variables below keep them off even if they were, so both sides are plain
 * JavaScript (ws still uses Node's native `buffer.isUtf8` for text of 24 bytes and more).
 *
 * What each side produces, to keep the comparison fair:
 * - decoding text: a JS string per message on both sides (ws hands out a Buffer, which an
 *   application turns into a string with toString(); that call is counted);
 * - decoding binary: ws concatenates a message into one Buffer, wsmachine hands out the pieces as
 *   they arrive (its API); both are checked at the same sample positions;
 * - encoding: the bytes to write. ws's Sender writes to a stand-in socket that collects chunks;
 *   a server's text chunk is a string there, which a real socket turns into bytes, so the stand-in
 *   does that too.
 * Decoding unmasks in place, so every pass starts from a fresh copy of the input, made untimed.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { Contender, Workload } from "../harness.js";
import { FrameDecoder } from "../../codec/frame-decoder.js";
import { FrameEncoder } from "../../codec/frame-encoder.js";
import { Opcode } from "../../codec/frame.js";
import { portableMasker } from "../../codec/mask.js";

process.env.WS_NO_BUFFER_UTIL = "1";
process.env.WS_NO_UTF_8_VALIDATE = "1";

interface WsReceiver {
  write(chunk: Uint8Array): boolean;
  on(event: "message", listener: (data: Buffer, isBinary: boolean) => void): this;
  on(event: "error", listener: (error: Error) => void): this;
}
interface WsSocket {
  cork(): void;
  uncork(): void;
  write(chunk: Uint8Array | string, callback?: () => void): boolean;
}
interface WsSender {
  send(data: Uint8Array | string, options: { binary: boolean; fin: boolean; mask: boolean; compress: boolean }): void;
}

// ws's package exports hide lib/, so its files are loaded by path (ws/lib/receiver.js etc.);
// the environment variables above are read when lib/buffer-util.js loads.
const require = createRequire(import.meta.url);
const wsLib = join(dirname(require.resolve("ws")), "lib");
const Receiver = require(join(wsLib, "receiver.js")) as new (options: { isServer: boolean; maxPayload: number }) => WsReceiver;
const Sender = require(join(wsLib, "sender.js")) as new (socket: WsSocket) => WsSender;
const wsBufferUtil = require(join(wsLib, "buffer-util.js")) as { unmask: (buffer: Uint8Array, key: Uint8Array) => void };

const SOCKET_CHUNK = 64 * 1024;
const MAX_MESSAGE = 64 * 1024 * 1024;

function maskedFrame(opcode: number, payload: Uint8Array, key: Uint8Array | null): Uint8Array {
  const encoder = new FrameEncoder(key === null ? { client: false } : { client: true, randomMaskKey: (target) => target.set(key) });
  return opcode === Opcode.TEXT ? encoder.text(new TextDecoder().decode(payload)) : encoder.binary(payload);
}

/**
 * The wire bytes of `count` frames, as a socket would deliver them: 64 KiB chunks over one
 * backing buffer. `restore()` rewrites the pristine bytes (decoding unmasks them in place).
 */
class WireInput {
  readonly chunks: Uint8Array[] = [];
  private readonly pristine: Uint8Array;
  private readonly working: Uint8Array;

  constructor(frames: Uint8Array[]) {
    const total = frames.reduce((sum, frame) => sum + frame.length, 0);
    this.pristine = new Uint8Array(total);
    let at = 0;
    for (const frame of frames) {
      this.pristine.set(frame, at);
      at += frame.length;
    }
    this.working = this.pristine.slice();
    for (let start = 0; start < total; start += SOCKET_CHUNK) {
      this.chunks.push(this.working.subarray(start, Math.min(start + SOCKET_CHUNK, total)));
    }
  }

  restore(): void {
    this.working.set(this.pristine);
  }
}

function randomKey(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(4));
}

function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(`wrong answer: ${what}`);
}

// ---------------------------------------------------------------------------------------------
// Decoding

function decodeTextWorkload(asServer: boolean): Workload {
  const count = 20_000;
  const messages = Array.from({ length: 16 }, (_, i) => `message ${String(i).padStart(2, "0")} ok!`);
  const frames = Array.from({ length: count }, (_, i) =>
    maskedFrame(Opcode.TEXT, new TextEncoder().encode(messages[i & 15]!), asServer ? randomKey() : null),
  );
  const oursInput = new WireInput(frames);
  const wsInput = new WireInput(frames);
  const decoder = new FrameDecoder({ client: !asServer, maxMessageSize: MAX_MESSAGE });
  const receiver = new Receiver({ isServer: asServer, maxPayload: MAX_MESSAGE });
  let wsReceived = 0;
  let wsWrong = 0;
  receiver.on("message", (data, isBinary) => {
    const text = isBinary ? "" : data.toString();
    if (text !== messages[wsReceived & 15]) wsWrong++;
    wsReceived++;
  });
  receiver.on("error", (error) => {
    throw error;
  });
  const ours: Contender = {
    name: "wsmachine",
    prepare: () => oursInput.restore(),
    run: () => {
      let received = 0;
      let wrong = 0;
      let partial = "";
      for (const chunk of oursInput.chunks) {
        decoder.receiveBytes(chunk);
        for (let frame = decoder.nextFrame(); frame !== null; frame = decoder.nextFrame()) {
          // A frame cut by a chunk boundary comes in two pieces, joined here as an application would.
          if (!frame.messageFinished) {
            partial += frame.payload as string;
            continue;
          }
          const text = partial === "" ? (frame.payload as string) : partial + (frame.payload as string);
          partial = "";
          if (text !== messages[received & 15]) wrong++;
          received++;
        }
      }
      check(received === count && wrong === 0, `${received} messages, ${wrong} wrong`);
      return received;
    },
  };
  const ws: Contender = {
    name: "ws",
    prepare: () => wsInput.restore(),
    run: () => {
      wsReceived = 0;
      wsWrong = 0;
      for (const chunk of wsInput.chunks) receiver.write(chunk);
      check(wsReceived === count && wsWrong === 0, `${wsReceived} messages, ${wsWrong} wrong`);
      return wsReceived;
    },
  };
  const side = asServer ? "server, masked" : "client, unmasked";
  return {
    id: `frame-decode-text-16-${asServer ? "server" : "client"}`,
    title: `decode 16 B text frames to strings (${side}, 64 KiB chunks)`,
    unit: "msg/s",
    contenders: [ours, ws],
    baseline: "ws",
    target: 1.0,
  };
}

/** Byte `index` of message `message` in the binary workloads. */
function patternByte(message: number, index: number): number {
  return (index * 31 + message * 7 + (index >>> 12)) & 0xff;
}

const SAMPLE_STRIDE = 4093;

function decodeBinaryWorkload(id: string, title: string, messageSize: number, count: number): Workload {
  const frames = Array.from({ length: count }, (_, m) => {
    const payload = new Uint8Array(messageSize);
    for (let i = 0; i < messageSize; i++) payload[i] = patternByte(m, i);
    return maskedFrame(Opcode.BINARY, payload, randomKey());
  });
  const oursInput = new WireInput(frames);
  const wsInput = new WireInput(frames);
  const decoder = new FrameDecoder({ client: false, maxMessageSize: MAX_MESSAGE });
  const receiver = new Receiver({ isServer: true, maxPayload: MAX_MESSAGE });
  let wsBytes = 0;
  let wsMessages = 0;
  let wsWrong = 0;
  receiver.on("message", (data) => {
    for (let i = 0; i < data.length; i += SAMPLE_STRIDE) if (data[i] !== patternByte(wsMessages, i)) wsWrong++;
    wsBytes += data.length;
    wsMessages++;
  });
  const ours: Contender = {
    name: "wsmachine",
    prepare: () => oursInput.restore(),
    run: () => {
      let bytes = 0;
      let messages = 0;
      let offset = 0;
      let wrong = 0;
      for (const chunk of oursInput.chunks) {
        decoder.receiveBytes(chunk);
        for (let frame = decoder.nextFrame(); frame !== null; frame = decoder.nextFrame()) {
          const piece = frame.payload as Uint8Array;
          // The same sample positions as for ws: multiples of the stride within the message.
          for (let i = (SAMPLE_STRIDE - (offset % SAMPLE_STRIDE)) % SAMPLE_STRIDE; i < piece.length; i += SAMPLE_STRIDE) {
            if (piece[i] !== patternByte(messages, offset + i)) wrong++;
          }
          offset += piece.length;
          bytes += piece.length;
          if (frame.messageFinished) {
            messages++;
            offset = 0;
          }
        }
      }
      check(messages === count && bytes === count * messageSize && wrong === 0, `${messages} messages, ${bytes} bytes, ${wrong} wrong`);
      return bytes;
    },
  };
  const ws: Contender = {
    name: "ws",
    prepare: () => wsInput.restore(),
    run: () => {
      wsBytes = 0;
      wsMessages = 0;
      wsWrong = 0;
      for (const chunk of wsInput.chunks) receiver.write(chunk);
      check(wsMessages === count && wsBytes === count * messageSize && wsWrong === 0, `${wsMessages} messages, ${wsWrong} wrong`);
      return wsBytes;
    },
  };
  return { id, title, unit: "MB/s", contenders: [ours, ws], baseline: "ws", target: 1.0 };
}

// ---------------------------------------------------------------------------------------------
// Encoding

/** A stand-in for the net.Socket ws's Sender writes to: collects the bytes it would send. */
class CollectingSocket implements WsSocket {
  bytes = 0;
  chunks = 0;
  cork(): void {}
  uncork(): void {}
  write(chunk: Uint8Array | string): boolean {
    // A real socket encodes a string chunk to UTF-8 before writing it.
    const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    this.bytes += bytes.length;
    this.chunks++;
    return true;
  }
}

function encodeWorkload(options: {
  id: string;
  title: string;
  unit: "msg/s" | "MB/s";
  client: boolean;
  count: number;
  data: string | Uint8Array;
  parts: boolean;
}): Workload {
  const { client, count, data, parts } = options;
  const payloadLength = typeof data === "string" ? Buffer.byteLength(data) : data.length;
  const headerLength = 2 + (payloadLength > 0xffff ? 8 : payloadLength > 125 ? 2 : 0) + (client ? 4 : 0);
  const frameLength = headerLength + payloadLength;
  const amount = options.unit === "msg/s" ? count : count * payloadLength;
  const encoder = new FrameEncoder({ client });
  const socket = new CollectingSocket();
  const sender = new Sender(socket);
  const wsOptions = { binary: typeof data !== "string", fin: true, mask: client, compress: false };
  const ours: Contender = {
    name: "wsmachine",
    run: () => {
      let bytes = 0;
      let last: Uint8Array | null = null;
      for (let i = 0; i < count; i++) {
        if (parts) {
          const chunks = typeof data === "string" ? encoder.textParts(data) : encoder.binaryParts(data);
          for (const chunk of chunks) bytes += chunk.length;
          last = chunks[0]!;
        } else {
          last = typeof data === "string" ? encoder.text(data) : encoder.binary(data);
          bytes += last.length;
        }
      }
      check(bytes === count * frameLength, `${bytes} bytes`);
      check(last !== null && last[0] === (typeof data === "string" ? 0x81 : 0x82) && (last[1]! & 0x80) === (client ? 0x80 : 0), "header");
      return amount;
    },
  };
  const ws: Contender = {
    name: "ws",
    run: () => {
      socket.bytes = 0;
      for (let i = 0; i < count; i++) sender.send(data, wsOptions);
      check(socket.bytes === count * frameLength, `${socket.bytes} bytes`);
      return amount;
    },
  };
  return { id: options.id, title: options.title, unit: options.unit, contenders: [ours, ws], baseline: "ws", target: 1.0 };
}

// ---------------------------------------------------------------------------------------------
// Masking

function maskWorkload(): Workload {
  const size = 16 * 1024 * 1024;
  const key = new Uint8Array([0x37, 0xfa, 0x21, 0x3d]);
  const original = new Uint8Array(size);
  for (let i = 0; i < size; i++) original[i] = (i * 7) & 0xff;
  const contender = (name: string, unmask: (buffer: Uint8Array, key: Uint8Array) => void): Contender => {
    const buffer = original.slice();
    let masked = false;
    return {
      name,
      run: () => {
        unmask(buffer, key);
        masked = !masked;
        for (let i = 0; i < size; i += 65_537) {
          check(buffer[i] === (masked ? original[i]! ^ key[i & 3]! : original[i]), `byte ${i}`);
        }
        return size;
      },
    };
  };
  return {
    id: "mask-16m",
    title: "mask 16 MiB in place (portable masker vs ws's JavaScript fallback)",
    unit: "MB/s",
    contenders: [contender("wsmachine", portableMasker.unmask), contender("ws", wsBufferUtil.unmask)],
    baseline: "ws",
    target: 1.0,
    minimum: 2000,
  };
}

const text16 = "0123456789abcdef";
const binary64k = new Uint8Array(64 * 1024).map((_, i) => i & 0xff);
const binary16m = new Uint8Array(16 * 1024 * 1024).map((_, i) => (i * 13) & 0xff);

export const workloads: Workload[] = [
  decodeTextWorkload(true),
  decodeTextWorkload(false),
  decodeBinaryWorkload("frame-decode-binary-64k", "decode 64 KiB binary frames (server, masked, 64 KiB chunks)", 64 * 1024, 64),
  decodeBinaryWorkload("frame-decode-binary-16m", "decode one 16 MiB binary frame (server, masked, 64 KiB chunks)", 16 * 1024 * 1024, 1),
  encodeWorkload({ id: "frame-encode-text-16-client", title: "encode 16 B text frames (client, masked)", unit: "msg/s", client: true, count: 20_000, data: text16, parts: false }),
  encodeWorkload({ id: "frame-encode-text-16-server", title: "encode 16 B text frames (server)", unit: "msg/s", client: false, count: 20_000, data: text16, parts: false }),
  encodeWorkload({ id: "frame-encode-binary-64k-client", title: "encode 64 KiB binary frames (client, masked)", unit: "MB/s", client: true, count: 64, data: binary64k, parts: false }),
  encodeWorkload({ id: "frame-encode-binary-64k-server", title: "encode 64 KiB binary frames (server, header + payload parts)", unit: "MB/s", client: false, count: 64, data: binary64k, parts: true }),
  encodeWorkload({ id: "frame-encode-binary-16m-client", title: "encode one 16 MiB binary frame (client, masked)", unit: "MB/s", client: true, count: 1, data: binary16m, parts: false }),
  maskWorkload(),
];
