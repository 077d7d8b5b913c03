/**
 * What the fuzzer feeds a connection: a model of a valid peer byte stream (handshake, messages
 * fragmented anywhere with control frames between fragments, optionally compressed, a close,
 * bytes after it), the wire bytes it makes and the events it must produce; mutations of those
 * bytes; and chunkings. fast-check arbitraries, no vitest: scripts/fuzz.ts uses them too.
 */
import fc from "fast-check";
import { bytes, closeBody, concatAll, frame, pseudoRandomBytes, OP, RSV1, upgradeRequest, upgradeResponse, SAMPLE_KEY, toHex, type FrameSpec, type Role } from "../conformance/wire.js";
import { ReferenceDeflater } from "../conformance/deflate-peer.js";
import type { Summary } from "../conformance/driver.js";

export type ControlKind = "ping" | "pong";

export interface MessageItem {
  kind: "message";
  binary: boolean;
  /** The message's bytes (text: the UTF-8 of `text`). */
  data: Uint8Array;
  /** Byte offsets where the frame payload is cut into fragments (of the compressed payload if compressed). */
  cuts: number[];
  /** Control frames after fragment i (i < fragments − 1). */
  controls: Array<{ after: number; kind: ControlKind; payload: Uint8Array }>;
  /** Send with RSV1, compressed (only when deflate is negotiated). */
  compress: boolean;
}

export interface ControlItem {
  kind: ControlKind;
  payload: Uint8Array;
}

export type Item = MessageItem | ControlItem;

/** How the connection under test is set up. */
export type Setup = "handshake" | "handshake+deflate" | "frames-only";

export interface Scenario {
  role: Role;
  setup: Setup;
  items: Item[];
  /** A close frame at the end: a code and reason, an empty close, or none. */
  close: { code: number; reason: string } | "empty" | null;
  /** Bytes after the close (ignored by the receiver); not sent when there is no close. */
  trailing: Uint8Array;
  /** Masking keys are drawn from this seed. */
  maskSeed: number;
}

export const DEFLATE_OFFER = "permessage-deflate; client_max_window_bits";
export const DEFLATE_RESPONSE = "permessage-deflate";

const utf8 = new TextDecoder();

// -- arbitraries -------------------------------------------------------------------------------

const payload125 = fc.uint8Array({ maxLength: 125 });
const controlItem: fc.Arbitrary<ControlItem> = fc.record({ kind: fc.constantFrom<ControlKind>("ping", "pong"), payload: payload125 });

/** Large payloads are made from a seed, not drawn element by element (which is slow). */
const largeSize = fc.oneof(fc.integer({ min: 120, max: 20_000 }), fc.integer({ min: 65_000, max: 70_000 }));

const textArb = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: "binary", maxLength: 60 }) },
  { weight: 2, arbitrary: fc.constantFrom("", "κόσμε", "😀é中", "\u0000\uffff\ufeff", "a".repeat(126)) },
  {
    weight: 2,
    arbitrary: fc.record({ unit: fc.string({ unit: "binary", minLength: 1, maxLength: 8 }), size: largeSize }).map(({ unit, size }) =>
      unit.repeat(Math.ceil(size / unit.length)).slice(0, size),
    ),
  },
);

const binaryArb = fc.oneof(
  { weight: 8, arbitrary: fc.uint8Array({ maxLength: 300 }) },
  { weight: 2, arbitrary: fc.record({ size: largeSize, seed: fc.nat() }).map(({ size, seed }) => pseudoRandomBytes(size, seed + 1)) },
);

const messageItem: fc.Arbitrary<MessageItem> = fc
  .record({
    binary: fc.boolean(),
    text: textArb,
    bin: binaryArb,
    cuts: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 6 }),
    controls: fc.array(fc.record({ after: fc.nat(6), kind: fc.constantFrom<ControlKind>("ping", "pong"), payload: payload125 }), { maxLength: 3 }),
    compress: fc.boolean(),
  })
  .map(({ binary, text, bin, cuts, controls, compress }) => {
    const data = binary ? bin : bytes(text);
    return { kind: "message" as const, binary, data, cuts: cuts.map((f) => Math.floor(f * (data.length + 1))), controls, compress };
  });

const closeArb = fc.oneof(
  { weight: 3, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.constant("empty" as const) },
  {
    weight: 3,
    arbitrary: fc.record({
      code: fc.constantFrom(1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999),
      reason: fc.string({ maxLength: 30 }),
    }),
  },
);

export function scenarioArb(role: Role, setup: Setup): fc.Arbitrary<Scenario> {
  return fc.record({
    role: fc.constant(role),
    setup: fc.constant(setup),
    items: fc.array(fc.oneof({ weight: 4, arbitrary: messageItem }, { weight: 1, arbitrary: controlItem }), { maxLength: 8 }),
    close: closeArb,
    trailing: fc.oneof({ weight: 3, arbitrary: fc.constant(new Uint8Array(0)) }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 40 }) }),
    maskSeed: fc.nat(),
  });
}

// -- wire bytes and the events they must produce ----------------------------------------------

export interface Built {
  wire: Uint8Array;
  /** Where the frames start (after the handshake head). */
  framesAt: number;
  /** The events a correct endpoint yields for `wire`, message chunks joined (see summarize). */
  expected: Summary[];
}

/** The reason a close frame can carry: cut to 123 bytes on a code-point boundary. */
function closeReasonBytes(reason: string): Uint8Array {
  let encoded = bytes(reason);
  while (encoded.length > 123) {
    reason = [...reason].slice(0, -1).join("");
    encoded = bytes(reason);
  }
  return encoded;
}

/**
 * The peer's bytes for `scenario`. `key` is the client's Sec-WebSocket-Key (a client under test
 * chooses it; a server under test gets SAMPLE_KEY).
 */
export function build(scenario: Scenario, key: string = SAMPLE_KEY): Built {
  const { role, setup } = scenario;
  const deflate = setup === "handshake+deflate";
  const masked = role === "server";
  let seed = scenario.maskSeed | 1;
  const nextKey = (): Uint8Array => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return Uint8Array.of(seed & 0xff, (seed >>> 8) & 0xff, (seed >>> 16) & 0xff, (seed >>> 24) & 0xff);
  };
  const out = (spec: FrameSpec): Uint8Array => frame({ ...spec, maskKey: masked ? nextKey() : undefined }, masked);

  const parts: Uint8Array[] = [];
  const expected: Summary[] = [];
  if (setup !== "frames-only") {
    if (role === "server") {
      parts.push(upgradeRequest(deflate ? [`Sec-WebSocket-Extensions: ${DEFLATE_OFFER}`] : [], key));
      expected.push({ other: "Request" });
    } else {
      parts.push(upgradeResponse(key, deflate ? [`Sec-WebSocket-Extensions: ${DEFLATE_RESPONSE}`] : []));
      expected.push({ other: "AcceptConnection" });
    }
  }
  const framesAt = parts.reduce((n, p) => n + p.length, 0);
  const deflater = new ReferenceDeflater(15, true);

  for (const item of scenario.items) {
    if (item.kind !== "message") {
      parts.push(out({ opcode: item.kind === "ping" ? OP.PING : OP.PONG, payload: item.payload }));
      expected.push(item.kind === "ping" ? { ping: toHex(item.payload) } : { pong: toHex(item.payload) });
      continue;
    }
    const compressed = deflate && item.compress;
    const payload = compressed ? deflater.message(item.data) : item.data;
    const bounds = [...new Set(item.cuts.map((c) => Math.min(c, payload.length)).filter((c) => c > 0 && c < payload.length))].sort((a, b) => a - b);
    const edges = [0, ...bounds, payload.length];
    const fragments = edges.length - 1;
    const controlSummaries: Summary[] = [];
    for (let i = 0; i < fragments; i++) {
      const fin = i === fragments - 1;
      parts.push(
        out({
          opcode: i === 0 ? (item.binary ? OP.BINARY : OP.TEXT) : OP.CONT,
          rsv: i === 0 && compressed ? RSV1 : 0,
          payload: payload.subarray(edges[i], edges[i + 1]),
          fin,
        }),
      );
      if (fin) break;
      for (const control of item.controls.filter((c) => c.after === i)) {
        parts.push(out({ opcode: control.kind === "ping" ? OP.PING : OP.PONG, payload: control.payload }));
        controlSummaries.push(control.kind === "ping" ? { ping: toHex(control.payload) } : { pong: toHex(control.payload) });
      }
    }
    // summarize() records a message when it finishes, after the control frames between its fragments.
    expected.push(...controlSummaries, item.binary ? { binary: toHex(item.data) } : { text: utf8.decode(item.data) });
  }

  if (scenario.close === "empty") {
    parts.push(out({ opcode: OP.CLOSE }));
    expected.push({ close: 1005, reason: "" });
  } else if (scenario.close !== null) {
    const reason = closeReasonBytes(scenario.close.reason);
    parts.push(out({ opcode: OP.CLOSE, payload: closeBody(scenario.close.code, reason) }));
    expected.push({ close: scenario.close.code, reason: utf8.decode(reason) });
  }
  // Bytes after a close are ignored; without a close they would be read as frames.
  if (scenario.close !== null) parts.push(scenario.trailing);
  return { wire: concatAll(parts), framesAt, expected };
}

// -- mutations and chunkings ---------------------------------------------------------------------

/** A change to a byte stream; positions are fractions of its length, so they fit any stream. */
export type Mutation =
  | { op: "flip"; at: number; bit: number }
  | { op: "set"; at: number; value: number }
  | { op: "insert"; at: number; data: Uint8Array }
  | { op: "delete"; at: number; length: number }
  | { op: "duplicate"; at: number; length: number }
  | { op: "truncate"; at: number };

const fraction = fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true });

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant("flip" as const), at: fraction, bit: fc.nat(7) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant("set" as const), at: fraction, value: fc.constantFrom(0x00, 0x7e, 0x7f, 0x80, 0xff, 0xc0, 0xed, 0xf4, 0x88, 0x0f) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("insert" as const), at: fraction, data: fc.uint8Array({ minLength: 1, maxLength: 16 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("delete" as const), at: fraction, length: fc.integer({ min: 1, max: 16 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("duplicate" as const), at: fraction, length: fc.integer({ min: 1, max: 64 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("truncate" as const), at: fraction }) },
);

/** Apply mutations to `data`; `from` keeps the first bytes (e.g. the handshake) intact. */
export function mutate(data: Uint8Array, mutations: readonly Mutation[], from = 0): Uint8Array {
  let result = data;
  for (const m of mutations) {
    const span = result.length - from;
    if (span <= 0 && m.op !== "insert") continue;
    const at = from + Math.floor(m.at * Math.max(span, 1));
    switch (m.op) {
      case "flip":
        result = result.slice();
        result[at] = result[at]! ^ (1 << m.bit);
        break;
      case "set":
        result = result.slice();
        result[at] = m.value;
        break;
      case "insert":
        result = concatAll([result.subarray(0, at), m.data, result.subarray(at)]);
        break;
      case "delete":
        result = concatAll([result.subarray(0, at), result.subarray(at + m.length)]);
        break;
      case "duplicate":
        result = concatAll([result.subarray(0, at + m.length), result.subarray(at, at + m.length), result.subarray(at + m.length)]);
        break;
      case "truncate":
        result = result.subarray(0, at);
        break;
    }
  }
  return result;
}

/** Cut points as fractions, or a fixed chop size (1: byte by byte). */
export const chunkingArb: fc.Arbitrary<number[] | { chop: number }> = fc.oneof(
  { weight: 4, arbitrary: fc.array(fraction, { maxLength: 12 }) },
  { weight: 1, arbitrary: fc.record({ chop: fc.constantFrom(1, 2, 3, 7, 64, 1000) }) },
);

/** The chunks of `data` for a chunking (copies: receiveData may unmask in place). */
export function cut(data: Uint8Array, chunking: number[] | { chop: number }): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  if (!Array.isArray(chunking)) {
    // Byte-by-byte over a 70 KB stream is 70 000 calls: chops are widened to at most 20 000 chunks.
    const chop = Math.max(chunking.chop, Math.ceil(data.length / 20_000));
    for (let at = 0; at < data.length; at += chop) chunks.push(data.slice(at, at + chop));
    return chunks;
  }
  const cuts = [...new Set(chunking.map((f) => Math.floor(f * data.length)))].filter((c) => c > 0 && c < data.length).sort((a, b) => a - b);
  let start = 0;
  for (const c of [...cuts, data.length]) {
    chunks.push(data.slice(start, c));
    start = c;
  }
  return chunks.filter((chunk) => chunk.length > 0);
}


// -- rejections (a client under test reading a non-101 response and its body) -------------------

export interface Rejection {
  status: number;
  framing: "length" | "chunked" | "eof" | "empty";
  body: Uint8Array;
  /** Chunked: sizes of the chunks the body is cut into (the rest in one more). */
  chunkSizes: number[];
  chunkExtension: boolean;
  trailers: string[];
  /** 100 Continue / 103 Early Hints heads before the final response (skipped, RFC 9110 §15.2). */
  informational: number;
}

export const rejectionArb: fc.Arbitrary<Rejection> = fc.record({
  status: fc.constantFrom(200, 301, 400, 401, 403, 404, 426, 429, 500, 503),
  framing: fc.constantFrom<Rejection["framing"]>("length", "chunked", "eof", "empty"),
  body: fc.oneof(fc.uint8Array({ maxLength: 200 }), fc.record({ size: fc.integer({ min: 1000, max: 40_000 }), seed: fc.nat() }).map(({ size, seed }) => pseudoRandomBytes(size, seed + 1))),
  chunkSizes: fc.array(fc.integer({ min: 1, max: 5000 }), { maxLength: 6 }),
  chunkExtension: fc.boolean(),
  trailers: fc.array(fc.constantFrom("X-Trailer: 1", "Expires: 0", "X-Checksum: abc"), { maxLength: 2 }),
  informational: fc.nat(2),
});

/** The server's bytes for a rejection, and the events a client must yield for them. */
export function buildRejection(r: Rejection): Built {
  const head = (lines: string[]) => bytes(lines.join("\r\n") + "\r\n\r\n");
  const parts: Uint8Array[] = [];
  for (let i = 0; i < r.informational; i++) parts.push(head([i % 2 === 0 ? "HTTP/1.1 100 Continue" : "HTTP/1.1 103 Early Hints", "Link: </style.css>; rel=preload"]));
  const status = `HTTP/1.1 ${r.status} Whatever`;
  const body = r.framing === "empty" ? new Uint8Array(0) : r.body;
  const expected: Summary[] = [];
  if (r.framing === "length" || r.framing === "empty") {
    parts.push(head([status, `Content-Length: ${body.length}`]), body);
  } else if (r.framing === "eof") {
    parts.push(head([status, "Connection: close"]), body);
  } else {
    parts.push(head([status, "Transfer-Encoding: chunked"]));
    let at = 0;
    for (const size of [...r.chunkSizes, body.length]) {
      if (at >= body.length) break;
      const piece = body.subarray(at, Math.min(body.length, at + size));
      at += piece.length;
      parts.push(bytes(`${piece.length.toString(16)}${r.chunkExtension ? ';name="value"' : ""}\r\n`), piece, bytes("\r\n"));
    }
    parts.push(bytes(`0\r\n${r.trailers.map((t) => `${t}\r\n`).join("")}\r\n`));
  }
  const hasBody = r.framing === "chunked" || r.framing === "eof" || body.length > 0;
  expected.push({ reject: r.status, hasBody });
  if (hasBody) expected.push({ rejectBody: toHex(body) });
  return { wire: concatAll(parts), framesAt: 0, expected };
}
