/**
 * R1, R2: what the flight recorder (`record`, README "Flight recorder") costs, on and off, on
 * the message path where it costs most: small messages. Three contenders, measured side by side:
 * - record off: the option absent (a null check per receiveData, send and events() call);
 * - record → no-op: the hook with a callback that does nothing: the copy of each input chunk
 *   and the entry objects, without serializing them;
 * - record → JSON Lines: `jsonLinesRecorder` (what `traceWriter` writes), into a sink that only
 *   counts the lines' length: serialization without I/O.
 * The notes give the trace's size per message, measured on the same messages.
 */
import { lazyWorkload, type Contender, type Workload } from "../harness.js";
import { TextMessage, type TraceRecorder, type WSConnection } from "../../src/index.js";
import { FrameEncoder } from "../../codec/frame-encoder.js";
import { jsonLinesRecorder } from "../../src/inspector/trace-writer.js";
import { check, openPair, WireInput } from "./support/wire.js";

const OFF = "record off";
const NOOP = "record → no-op callback";
const JSONL = "record → JSON Lines (no I/O)";

const MESSAGES = Array.from({ length: 16 }, (_, i) => `message #${String(i).padStart(2, "0")} ok!`.slice(0, 16));

/** The three ways to run a connection, each with its own server (record is fixed at creation). */
function variants(): Array<{ name: string; server: WSConnection; lines: () => number }> {
  let bytes = 0;
  const counting = jsonLinesRecorder((line) => (bytes += line.length), { maxBytes: Infinity });
  const recorders: Array<[string, TraceRecorder | undefined]> = [
    [OFF, undefined],
    [NOOP, () => {}],
    [JSONL, counting.record],
  ];
  return recorders.map(([name, record]) => ({
    name,
    // The recorder is given to the server only: openPair's client stays as it is.
    server: openPair(undefined, record === undefined ? {} : { record }).server,
    lines: () => bytes,
  }));
}

function clientFrames(count: number): WireInput {
  const encoder = new FrameEncoder({ client: true });
  const frames: Uint8Array[] = [];
  let total = 0;
  for (let i = 0; i < count; i++) {
    const frame = encoder.text(MESSAGES[i & 15]!);
    frames.push(frame);
    total += frame.length;
  }
  return new WireInput(frames, total);
}

/** Bytes of JSON Lines per message: `count` messages received and echoed by a recorded server. */
function traceSizes(count: number): { received: number; sent: number } {
  let bytes = 0;
  const recorder = jsonLinesRecorder((line) => (bytes += Buffer.byteLength(line)), { maxBytes: Infinity });
  const { server } = openPair(undefined, { record: recorder.record });
  const input = clientFrames(count);
  const before = bytes;
  const received: TextMessage[] = [];
  for (const chunk of input.chunks) {
    server.receiveData(chunk);
    for (const event of server.events()) received.push(event as TextMessage);
  }
  const afterReceiving = bytes;
  for (const message of received) server.send(message);
  return { received: (afterReceiving - before) / count, sent: (bytes - afterReceiving) / count };
}

function r1(): Workload {
  const count = 50_000;
  const input = clientFrames(count);
  const contenders = variants().map(({ name, server }): Contender => ({
    name,
    prepare: () => input.restore(),
    run: () => {
      let received = 0;
      let finished = 0;
      for (const chunk of input.chunks) {
        server.receiveData(chunk);
        for (const event of server.events()) {
          if (!(event instanceof TextMessage)) throw new Error(`unexpected ${event.type}`);
          if (event.messageFinished) finished++;
          received++;
        }
      }
      check(finished === count, `${finished} messages of ${count} (${received} pieces)`);
      return count;
    },
  }));
  const size = traceSizes(2_000);
  return {
    id: "R1",
    title: "parse 50,000 masked 15 B text frames (64 KiB chunks), flight recorder off / on",
    unit: "msg/s",
    contenders,
    baseline: OFF,
    note: `Trace size: ${size.received.toFixed(0)} bytes of JSON Lines per received 15 B message (its "event" line, a share of its chunk's "receive" line and the "drained" lines), ${size.sent.toFixed(0)} per sent one.`,
  };
}

function r2(): Workload {
  const count = 50_000;
  const contenders = variants().map(({ name, server }): Contender => ({
    name,
    run: () => {
      let bytes = 0;
      for (let i = 0; i < count; i++) bytes += server.send(new TextMessage({ data: MESSAGES[i & 15]! })).length;
      // Each a 2-byte header (unmasked: a server) and its text.
      check(bytes === count * (2 + MESSAGES[0]!.length), `${bytes} bytes sent`);
      return count;
    },
  }));
  return {
    id: "R2",
    title: "encode 50,000 15 B text messages as a server, flight recorder off / on",
    unit: "msg/s",
    contenders,
    baseline: OFF,
  };
}

export const workloads: Workload[] = [
  lazyWorkload("R1", "parse 50,000 masked 15 B text frames (64 KiB chunks), flight recorder off / on", r1),
  lazyWorkload("R2", "encode 50,000 15 B text messages as a server, flight recorder off / on", r2),
];
