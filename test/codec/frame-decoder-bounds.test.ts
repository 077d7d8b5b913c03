/**
 * FrameDecoder bounds: the memory budget (FrameDecoderOptions.memory, 1013 when refused), the
 * work quantum (FrameDecoderOptions.workQuantum, `workPending`), and assembled text decoded as
 * it arrives (invalid UTF-8 fails with 1007 before the rest of the frame arrives).
 */
import * as zlib from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Extension } from "../../codec/extension.js";
import { FrameDecoder, HELD_ARRAY_OVERHEAD, type FrameDecoderOptions } from "../../codec/frame-decoder.js";
import { type Frame, Opcode, ParseFailed, type RsvBits } from "../../codec/frame.js";
import { MemoryBudget, type MemoryAccount } from "../../codec/memory-budget.js";
import { negotiate } from "../src/extensions/helpers.js";
import { buildFrame, concatBytes, expectSameBytes, hex, KEY, type RawFrame, splitAt, textBytes } from "./frame-helpers.js";

const MiB = 1024 * 1024;

// -- helpers -----------------------------------------------------------------------------------

/** A frame as the peer of a client (unmasked) or of a server (masked) sends it. */
function wire(client: boolean, frame: RawFrame): Uint8Array {
  return buildFrame({ ...frame, maskKey: client ? undefined : KEY });
}

/** Raw DEFLATE of `data`, sync-flushed, the 00 00 ff ff tail removed (RFC 7692 §7.2.1). */
function deflate(data: Uint8Array): Uint8Array {
  const out = zlib.deflateRawSync(data, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  expect(out.readUInt32BE(out.length - 4)).toBe(0x0000ffff);
  return new Uint8Array(out.subarray(0, out.length - 4));
}

/** Cuts `data` into `count` nearly equal pieces. */
function pieces(data: Uint8Array, count: number): Uint8Array[] {
  const size = Math.ceil(data.length / count);
  const out: Uint8Array[] = [];
  for (let at = 0; at < data.length; at += size) out.push(data.slice(at, at + size));
  return out;
}

/** The frames of one message whose payload (already compressed when `rsv1`) is cut into `parts`. */
function messageFrames(client: boolean, opcode: number, parts: Uint8Array[], rsv1 = false): Uint8Array[] {
  return parts.map((payload, index) =>
    wire(client, {
      opcode: index === 0 ? opcode : Opcode.CONTINUATION,
      fin: index === parts.length - 1,
      rsv1: rsv1 && index === 0,
      payload,
    }),
  );
}

/** A negotiated permessage-deflate for a decoder of `client`'s role (the peer compresses). */
function deflateExtension(client: boolean): Extension {
  const pair = negotiate();
  return client ? pair.client : pair.server;
}

/** Wraps an extension and records what its inbound payload hooks are given and return. */
class CountingExtension implements Extension {
  readonly name: string;
  readonly rsvBits: RsvBits;
  /** Received bytes handed to frameInboundPayloadData, per call. */
  readonly inputs: number[] = [];
  /** Bytes returned by frameInboundPayloadData and frameInboundComplete, per call. */
  readonly outputs: number[] = [];

  constructor(private readonly inner: Extension) {
    this.name = inner.name;
    this.rsvBits = inner.rsvBits;
  }

  get produced(): number {
    return this.outputs.reduce((sum, n) => sum + n, 0);
  }

  enabled(): boolean {
    return this.inner.enabled();
  }
  offer(): string | boolean {
    return this.inner.offer();
  }
  accept(offer: string): string | boolean | null {
    return this.inner.accept(offer);
  }
  finalize(offer: string): void {
    this.inner.finalize(offer);
  }
  frameInboundHeader(opcode: Opcode, rsv: RsvBits, payloadLength: number): RsvBits {
    return this.inner.frameInboundHeader(opcode, rsv, payloadLength);
  }
  frameInboundPayloadData(data: Uint8Array, budget: number): Uint8Array {
    this.inputs.push(data.length);
    const out = this.inner.frameInboundPayloadData(data, budget);
    this.outputs.push(out.length);
    return out;
  }
  frameInboundComplete(fin: boolean, budget: number): Uint8Array | null {
    const out = this.inner.frameInboundComplete(fin, budget);
    this.outputs.push(out === null ? 0 : out.length);
    return out;
  }
  frameOutbound(opcode: Opcode, rsv: RsvBits, data: Uint8Array, fin: boolean): { rsv: RsvBits; data: Uint8Array } {
    return this.inner.frameOutbound(opcode, rsv, data, fin);
  }
}

/** An extension that claims no bits and passes data through: makes the decoder take its extension path. */
function identityExtension(): CountingExtension {
  const identity: Extension = {
    name: "identity",
    rsvBits: { rsv1: false, rsv2: false, rsv3: false },
    enabled: () => true,
    offer: () => true,
    accept: () => true,
    finalize: () => undefined,
    frameInboundHeader: () => ({ rsv1: false, rsv2: false, rsv3: false }),
    frameInboundPayloadData: (data) => data,
    frameInboundComplete: () => null,
    frameOutbound: (_opcode, rsv, data) => ({ rsv, data }),
  };
  return new CountingExtension(identity);
}

interface Outcome {
  frames: Frame[];
  failure: ParseFailed | null;
  /** Most the account held after any receiveBytes or nextFrame. */
  maxHeld: number;
}

/**
 * Feeds `chunks` (copies) one at a time, reading every frame after each; checks after every
 * receiveBytes and nextFrame that the account never holds more than the budget's limit.
 */
function run(options: FrameDecoderOptions, chunks: readonly Uint8Array[], budget: MemoryBudget | null): Outcome {
  const decoder = new FrameDecoder(options);
  const account = options.memory ?? null;
  const frames: Frame[] = [];
  let maxHeld = 0;
  const check = (): void => {
    if (account === null || budget === null) return;
    expect(account.held).toBeLessThanOrEqual(budget.limit);
    expect(budget.used).toBeLessThanOrEqual(budget.limit);
    maxHeld = Math.max(maxHeld, account.held);
  };
  try {
    for (const chunk of chunks) {
      decoder.receiveBytes(chunk.slice());
      check();
      for (;;) {
        const frame = decoder.nextFrame();
        check();
        if (frame === null) {
          if (!decoder.workPending) break;
          continue;
        }
        frames.push(frame);
      }
    }
  } catch (error) {
    if (!(error instanceof ParseFailed)) throw error;
    if (account !== null) expect(account.held).toBe(0);
    return { frames, failure: error, maxHeld };
  }
  return { frames, failure: null, maxHeld };
}

// -- memory budget: accounting ----------------------------------------------------------------

describe("FrameDecoder memory budget: what is held is reserved", () => {
  for (const client of [true, false]) {
    const role = client ? "client" : "server";

    it(`${role}: each received chunk is reserved (bytes + ${HELD_ARRAY_OVERHEAD}) as it is received, and given back once its frame is handed out`, () => {
      expect(HELD_ARRAY_OVERHEAD).toBe(200);
      const budget = new MemoryBudget(MiB);
      const account = budget.account();
      const decoder = new FrameDecoder({ client, maxMessageSize: MiB, memory: account });
      const bytes = wire(client, { opcode: Opcode.BINARY, payload: new Uint8Array(5000).map((_, i) => i) });
      decoder.receiveBytes(bytes.slice(0, 3000));
      expect(account.held).toBe(3000 + 200);
      expect(budget.used).toBe(3000 + 200);
      // Piece by piece: the payload so far is handed out, nothing is kept.
      const first = decoder.nextFrame();
      expect(first?.frameFinished).toBe(false);
      expect(account.held).toBe(0);
      decoder.receiveBytes(bytes.slice(3000));
      expect(account.held).toBe(bytes.length - 3000 + 200);
      const second = decoder.nextFrame();
      expect(second?.frameFinished).toBe(true);
      expect(account.held).toBe(0);
      expect(budget.used).toBe(0);
    });

    it(`${role}: assembled, a partial binary frame stays reserved (its bytes + ${HELD_ARRAY_OVERHEAD}) until it completes`, () => {
      const budget = new MemoryBudget(MiB);
      const account = budget.account();
      const decoder = new FrameDecoder({ client, maxMessageSize: MiB, memory: account, assembleMessages: true });
      const payload = new Uint8Array(5000).map((_, i) => i * 7);
      const bytes = wire(client, { opcode: Opcode.BINARY, payload });
      decoder.receiveBytes(bytes.slice(0, 3000));
      expect(account.held).toBe(3000 + 200);
      expect(decoder.nextFrame()).toBeNull();
      // The header is parsed; the payload bytes received so far are held, in one kept array.
      expect(decoder.bufferedAmount).toBe(3000 - (bytes.length - 5000));
      expect(account.held).toBe(decoder.bufferedAmount + HELD_ARRAY_OVERHEAD);
      decoder.receiveBytes(bytes.slice(3000, 4000));
      // Before it is read: what was settled (buffered + one array) plus the new chunk and its array.
      expect(account.held).toBe(decoder.bufferedAmount + 2 * HELD_ARRAY_OVERHEAD);
      expect(decoder.nextFrame()).toBeNull();
      expect(account.held).toBeGreaterThanOrEqual(decoder.bufferedAmount + HELD_ARRAY_OVERHEAD);
      expect(account.held).toBeLessThanOrEqual(decoder.bufferedAmount + 2 * HELD_ARRAY_OVERHEAD);
      decoder.receiveBytes(bytes.slice(4000));
      const frame = decoder.nextFrame();
      expect(frame).toMatchObject({ opcode: Opcode.BINARY, frameFinished: true, messageFinished: true });
      expectSameBytes(frame!.payload, payload);
      expect(account.held).toBe(0);
      expect(budget.used).toBe(0);
    });

    it(`${role}: a trickle of small chunks is charged per chunk on receipt, then settles to what the decoder's block holds`, () => {
      const budget = new MemoryBudget(MiB);
      const account = budget.account();
      const decoder = new FrameDecoder({ client, maxMessageSize: MiB, memory: account, assembleMessages: true });
      const payload = new Uint8Array(3000).map((_, i) => i);
      const bytes = wire(client, { opcode: Opcode.BINARY, payload });
      let last: Frame | null = null;
      for (let at = 0; at < bytes.length; at += 10) {
        const before = account.held;
        const chunk = bytes.slice(at, at + 10);
        decoder.receiveBytes(chunk);
        // Reserved before it is kept: exactly its bytes and one array's overhead.
        expect(account.held - before).toBe(chunk.length + HELD_ARRAY_OVERHEAD);
        last = decoder.nextFrame();
        if (last === null) {
          // Small chunks are copied into a few blocks: far less than 200 per chunk once settled.
          expect(account.held).toBeGreaterThanOrEqual(decoder.bufferedAmount + HELD_ARRAY_OVERHEAD);
          expect(account.held).toBeLessThanOrEqual(decoder.bufferedAmount + 8 * HELD_ARRAY_OVERHEAD);
        }
      }
      expect(last).not.toBeNull();
      expectSameBytes(last!.payload, payload);
      expect(account.held).toBe(0);
    });

    it(`${role}: assembled, a fragmented binary message keeps each fragment reserved (+${HELD_ARRAY_OVERHEAD} each) until its last fragment`, () => {
      const budget = new MemoryBudget(MiB);
      const account = budget.account();
      const decoder = new FrameDecoder({ client, maxMessageSize: MiB, memory: account, assembleMessages: true });
      const sizes = [1000, 1, 20_000, 300, 4000];
      const parts = sizes.map((size, k) => new Uint8Array(size).fill(k + 1));
      const frames = messageFrames(client, Opcode.BINARY, parts);
      let kept = 0;
      for (let index = 0; index < frames.length - 1; index++) {
        decoder.receiveBytes(frames[index]!.slice());
        expect(decoder.nextFrame()).toBeNull();
        kept += parts[index]!.length;
        expect(decoder.messageInProgress).toBe(true);
        expect(account.held).toBe(kept + (index + 1) * HELD_ARRAY_OVERHEAD);
        expect(budget.used).toBe(account.held);
      }
      decoder.receiveBytes(frames[frames.length - 1]!.slice());
      const frame = decoder.nextFrame();
      expectSameBytes(frame!.payload, concatBytes(...parts));
      expect(account.held).toBe(0);
    });

    it(`${role}: assembled text keeps what it decoded so far reserved, and gives it back with the message`, () => {
      const budget = new MemoryBudget(MiB);
      const account = budget.account();
      const decoder = new FrameDecoder({ client, maxMessageSize: MiB, memory: account, assembleMessages: true });
      const text = "wsmachine ".repeat(3000);
      const parts = pieces(textBytes(text), 3);
      const frames = messageFrames(client, Opcode.TEXT, parts);
      decoder.receiveBytes(frames[0]!.slice());
      expect(decoder.nextFrame()).toBeNull();
      expect(account.held).toBeGreaterThanOrEqual(parts[0]!.length);
      decoder.receiveBytes(frames[1]!.slice());
      expect(decoder.nextFrame()).toBeNull();
      expect(account.held).toBeGreaterThanOrEqual(parts[0]!.length + parts[1]!.length);
      decoder.receiveBytes(frames[2]!.slice());
      expect(decoder.nextFrame()?.payload).toBe(text);
      expect(account.held).toBe(0);
    });
  }

  it("a chunk the budget cannot take is refused before it is kept: 1013 from nextFrame, the account back at 0", () => {
    const budget = new MemoryBudget(1000);
    const account = budget.account();
    const decoder = new FrameDecoder({ client: true, maxMessageSize: MiB, memory: account });
    // 800 + 200 fits exactly.
    decoder.receiveBytes(wire(true, { opcode: Opcode.BINARY, fin: false, payload: new Uint8Array(796) }));
    expect(account.held).toBe(1000);
    expect(decoder.nextFrame()?.payload).toHaveLength(796);
    expect(account.held).toBe(0);
    // 801 + 200 does not: refused without holding it, and without throwing from receiveBytes.
    const big = wire(true, { opcode: Opcode.CONTINUATION, payload: new Uint8Array(797) });
    expect(big.length).toBe(801);
    expect(() => decoder.receiveBytes(big)).not.toThrow();
    expect(account.held).toBe(0);
    expect(decoder.bufferedAmount).toBe(0);
    let failure: unknown = null;
    try {
      decoder.nextFrame();
    } catch (error) {
      failure = error;
    }
    expect(failure).toBeInstanceOf(ParseFailed);
    expect((failure as ParseFailed).code).toBe(1013);
    expect(decoder.failure).toBe(failure);
    // The decoder is dead: later calls throw the same failure and hold nothing.
    expect(() => decoder.receiveBytes(new Uint8Array(1))).toThrow(failure as ParseFailed);
    expect(() => decoder.nextFrame()).toThrow(failure as ParseFailed);
    expect(account.held).toBe(0);
    expect(budget.used).toBe(0);
  });

  it("after any failure (here a protocol error) the account holds 0", () => {
    const budget = new MemoryBudget(MiB);
    const account = budget.account();
    const decoder = new FrameDecoder({ client: false, maxMessageSize: MiB, memory: account, assembleMessages: true });
    decoder.receiveBytes(wire(false, { opcode: Opcode.BINARY, fin: false, payload: new Uint8Array(3000) }));
    expect(decoder.nextFrame()).toBeNull();
    expect(account.held).toBe(3000 + HELD_ARRAY_OVERHEAD);
    // An unmasked frame from a client: 1002.
    decoder.receiveBytes(buildFrame({ opcode: Opcode.PING }));
    expect(account.held).toBeGreaterThan(3000 + HELD_ARRAY_OVERHEAD);
    expect(() => decoder.nextFrame()).toThrow(ParseFailed);
    expect(decoder.failure?.code).toBe(1002);
    expect(account.held).toBe(0);
    expect(budget.used).toBe(0);
  });

  it("dispose() and takeUnconsumed() give the memory back", () => {
    const budget = new MemoryBudget(MiB);
    const account = budget.account();
    const decoder = new FrameDecoder({ client: true, maxMessageSize: MiB, memory: account, assembleMessages: true });
    decoder.receiveBytes(wire(true, { opcode: Opcode.BINARY, fin: false, payload: new Uint8Array(2000) }));
    decoder.receiveBytes(wire(true, { opcode: Opcode.CONTINUATION, payload: new Uint8Array(2000) }).subarray(0, 500));
    expect(decoder.nextFrame()).toBeNull();
    expect(account.held).toBeGreaterThan(2000);
    expect(decoder.messageInProgress).toBe(true);
    decoder.dispose();
    expect(account.held).toBe(0);
    expect(decoder.messageInProgress).toBe(false);
    expect(decoder.bufferedAmount).toBe(0);
    expect(budget.used).toBe(0);

    const other = budget.account();
    const second = new FrameDecoder({ client: true, maxMessageSize: MiB, memory: other });
    second.receiveBytes(new Uint8Array(5000));
    expect(other.held).toBe(5200);
    const rest = second.takeUnconsumed();
    expect(rest.reduce((n, c) => n + c.length, 0)).toBe(5000);
    expect(other.held).toBe(0);
    expect(budget.used).toBe(0);
  });

  it("two decoders share one budget: what one holds the other cannot take, until it is given back", () => {
    const budget = new MemoryBudget(10_000);
    const a = budget.account();
    const b = budget.account();
    const first = new FrameDecoder({ client: false, maxMessageSize: MiB, memory: a, assembleMessages: true });
    const second = new FrameDecoder({ client: false, maxMessageSize: MiB, memory: b, assembleMessages: true });
    const bytes = wire(false, { opcode: Opcode.BINARY, payload: new Uint8Array(8000).fill(9) });
    first.receiveBytes(bytes.slice(0, 6000));
    expect(first.nextFrame()).toBeNull();
    expect(budget.used).toBe(a.held);
    expect(b.available).toBe(10_000 - a.held);
    // Fits alone, not next to what the first holds.
    second.receiveBytes(wire(false, { opcode: Opcode.BINARY, payload: new Uint8Array(4000) }));
    expect(() => second.nextFrame()).toThrow(expect.objectContaining({ code: 1013 }));
    expect(b.held).toBe(0);
    // The first is unaffected and completes.
    first.receiveBytes(bytes.slice(6000));
    expectSameBytes(first.nextFrame()!.payload, new Uint8Array(8000).fill(9));
    expect(budget.used).toBe(0);
    // Now a third decoder on the same budget can take that same frame.
    const third = new FrameDecoder({ client: false, maxMessageSize: MiB, memory: budget.account(), assembleMessages: true });
    third.receiveBytes(wire(false, { opcode: Opcode.BINARY, payload: new Uint8Array(4000) }));
    expect(third.nextFrame()?.payload).toHaveLength(4000);
    expect(budget.used).toBe(0);
  });
});

describe("FrameDecoder memory budget: many tiny fragments pay for their arrays", () => {
  for (const client of [true, false]) {
    const role = client ? "client" : "server";
    const fragmentCount = 1000;
    const frames = messageFrames(
      client,
      Opcode.BINARY,
      Array.from({ length: fragmentCount }, (_, i) => Uint8Array.of(i & 0xff)),
    );

    it(`${role}: 1-byte fragments hit 1013 on the per-array overhead long before maxFragments`, () => {
      // The bytes themselves (1000) are far below the limit; 200 per kept array is not.
      const limit = 20_000;
      const budget = new MemoryBudget(limit);
      const options: FrameDecoderOptions = { client, maxMessageSize: MiB, maxFragments: fragmentCount - 1, assembleMessages: true };
      const outcome = run({ ...options, memory: budget.account() }, frames, budget);
      expect(outcome.frames).toEqual([]);
      expect(outcome.failure?.code).toBe(1013);
      expect(budget.used).toBe(0);
      // Without the budget the same stream runs into maxFragments (1008) instead: the budget came first.
      const unbounded = run(options, frames, null);
      expect(unbounded.failure?.code).toBe(1008);
    });

    it(`${role}: the same fragments, unfinished, in one chunk fail 1013 too`, () => {
      const budget = new MemoryBudget(20_000);
      const unfinished = concatBytes(...frames.slice(0, -1));
      const outcome = run({ client, maxMessageSize: MiB, assembleMessages: true, memory: budget.account() }, [unfinished], budget);
      expect(outcome.failure?.code).toBe(1013);
      expect(budget.used).toBe(0);
    });

    it(`${role}: with room for them, the tiny fragments assemble and the reservation returns to 0`, () => {
      const budget = new MemoryBudget(fragmentCount * (1 + HELD_ARRAY_OVERHEAD) + 64 * 1024);
      const account = budget.account();
      const outcome = run({ client, maxMessageSize: MiB, assembleMessages: true, memory: account }, frames, budget);
      expect(outcome.failure).toBeNull();
      expect(outcome.frames).toHaveLength(1);
      expectSameBytes(outcome.frames[0]!.payload, Uint8Array.from({ length: fragmentCount }, (_, i) => i & 0xff));
      // Just before the last fragment, every earlier one was held as its own array.
      expect(outcome.maxHeld).toBeGreaterThanOrEqual((fragmentCount - 1) * (1 + HELD_ARRAY_OVERHEAD));
      expect(account.held).toBe(0);
    });
  }

  /*
   * Regressions (found by these tests, fixed in bf544d2): the arrays kept for fragments completed
   * within one nextFrame() call used to be reserved only when the call ended, so a chunk carrying
   * a thousand 1-byte fragments was kept whole before the refusal — and a complete message in one
   * chunk was delivered past the budget, while the same bytes in separate chunks failed 1013.
   */
  it("a complete message of 1-byte fragments in one chunk fails 1013 as it does when its fragments arrive apart", () => {
    const limit = 20_000;
    const frames = messageFrames(false, Opcode.BINARY, Array.from({ length: 1000 }, () => Uint8Array.of(1)));
    const apart = new MemoryBudget(limit);
    expect(run({ client: false, maxMessageSize: MiB, assembleMessages: true, memory: apart.account() }, frames, apart).failure?.code).toBe(1013);
    const together = new MemoryBudget(limit);
    // Today: delivered whole, 1000 arrays kept within one call against a 20 000-byte budget.
    expect(run({ client: false, maxMessageSize: MiB, assembleMessages: true, memory: together.account() }, [concatBytes(...frames)], together).failure?.code).toBe(1013);
  });

  it("fragments arriving in one chunk are refused as they come, not after all were kept", () => {
    const limit = 20_000;
    const budget = new MemoryBudget(limit);
    const counting = identityExtension();
    // An unfinished message (its last fragment not sent), so that the call does end in 1013.
    const frames = messageFrames(false, Opcode.BINARY, Array.from({ length: 1001 }, () => Uint8Array.of(1))).slice(0, -1);
    const outcome = run(
      { client: false, maxMessageSize: MiB, assembleMessages: true, extensions: [counting], memory: budget.account() },
      [concatBytes(...frames)],
      budget,
    );
    expect(outcome.failure?.code).toBe(1013);
    // At most about limit / 201 fragments can have been kept before the budget refuses.
    expect(counting.inputs.length).toBeLessThanOrEqual(Math.ceil(limit / (1 + HELD_ARRAY_OVERHEAD)) + 2);
  });
});

describe("FrameDecoder memory budget: permessage-deflate", () => {
  const inflated = new Uint8Array(2 * MiB).fill(0x61);
  const compressed = deflate(inflated);

  for (const client of [true, false]) {
    const role = client ? "client" : "server";
    const decoderFor = (maxMessageSize: number, budget: MemoryBudget | null, assembleMessages = true): FrameDecoderOptions => ({
      client,
      maxMessageSize,
      assembleMessages,
      extensions: [deflateExtension(client)],
      ...(budget === null ? {} : { memory: budget.account() }),
    });

    it(`${role}: an unfinished compressed fragment that inflates beyond the budget fails 1013 (not 1009), held ≤ limit throughout`, () => {
      const budget = new MemoryBudget(MiB);
      const frames = [wire(client, { opcode: Opcode.BINARY, fin: false, rsv1: true, payload: compressed })];
      expect(compressed.length).toBeLessThan(MiB / 100);
      const outcome = run(decoderFor(64 * MiB, budget), frames, budget);
      expect(outcome.frames).toEqual([]);
      expect(outcome.failure?.code).toBe(1013);
      expect(budget.used).toBe(0);
    });

    it(`${role}: a complete compressed message within maxMessageSize but beyond the budget fails 1013`, () => {
      const budget = new MemoryBudget(MiB);
      const frames = [wire(client, { opcode: Opcode.BINARY, rsv1: true, payload: compressed })];
      const outcome = run(decoderFor(4 * MiB, budget), frames, budget);
      expect(outcome.failure?.code).toBe(1013);
      expect(budget.used).toBe(0);
    });

    it(`${role}: one beyond maxMessageSize but within the budget fails 1009`, () => {
      const budget = new MemoryBudget(8 * MiB);
      const frames = [wire(client, { opcode: Opcode.BINARY, rsv1: true, payload: compressed })];
      const outcome = run(decoderFor(MiB, budget), frames, budget);
      expect(outcome.failure?.code).toBe(1009);
      expect(budget.used).toBe(0);
    });

    it(`${role}: one within both is delivered whole, and the reservation returns to 0`, () => {
      const budget = new MemoryBudget(4 * MiB);
      const frames = messageFrames(client, Opcode.BINARY, pieces(compressed, 3), true);
      const outcome = run(decoderFor(4 * MiB, budget), frames, budget);
      expect(outcome.failure).toBeNull();
      expect(outcome.frames).toHaveLength(1);
      expectSameBytes(outcome.frames[0]!.payload, inflated);
      // While the first fragments were kept inflated, they were reserved.
      expect(outcome.maxHeld).toBeGreaterThan(MiB / 2);
      expect(budget.used).toBe(0);
    });

    it(`${role}: piece by piece nothing inflated is kept, so the budget bounds only received bytes`, () => {
      const budget = new MemoryBudget(64 * 1024);
      const frames = [wire(client, { opcode: Opcode.BINARY, rsv1: true, payload: compressed })];
      const outcome = run(decoderFor(4 * MiB, budget, false), frames, budget);
      expect(outcome.failure).toBeNull();
      const payloads = outcome.frames.map((frame) => frame.payload as Uint8Array);
      expectSameBytes(concatBytes(...payloads), inflated);
      expect(budget.used).toBe(0);
    });
  }

  it("compressed text: 1013 for the budget, fragments within it assemble", () => {
    const text = "κόσμε wsmachine ".repeat(100_000);
    const bytes = textBytes(text);
    const payload = deflate(bytes);
    const small = new MemoryBudget(256 * 1024);
    const failed = run(
      { client: true, maxMessageSize: 64 * MiB, assembleMessages: true, extensions: [deflateExtension(true)], memory: small.account() },
      messageFrames(true, Opcode.TEXT, pieces(payload, 4), true),
      small,
    );
    expect(failed.failure?.code).toBe(1013);
    expect(small.used).toBe(0);
    const large = new MemoryBudget(16 * MiB);
    const passed = run(
      { client: true, maxMessageSize: 64 * MiB, assembleMessages: true, extensions: [deflateExtension(true)], memory: large.account() },
      messageFrames(true, Opcode.TEXT, pieces(payload, 4), true),
      large,
    );
    expect(passed.failure).toBeNull();
    expect(passed.frames.map((frame) => frame.payload)).toEqual([text]);
    expect(large.used).toBe(0);
  });

  /*
   * Regression (found by these tests, fixed in bf544d2): when every fragment of a compressed
   * message arrived in ONE chunk, each fragment's inflated output was checked against a
   * `memory.available` brought up to date only when nextFrame() ended, so a 4 MiB message was
   * assembled under a 1 MiB budget; as one frame, or with its fragments apart, it failed 1013.
   */
  it("a compressed message whose fragments arrive in one chunk is held to the budget as when they arrive apart", () => {
    const message = new Uint8Array(4 * MiB).fill(0x62);
    const frames = messageFrames(true, Opcode.BINARY, pieces(deflate(message), 8), true);
    const outcomes = [frames, [concatBytes(...frames)]].map((chunks) => {
      const budget = new MemoryBudget(MiB);
      return run(
        { client: true, maxMessageSize: 64 * MiB, assembleMessages: true, extensions: [deflateExtension(true)], memory: budget.account() },
        chunks,
        budget,
      );
    });
    expect(outcomes[0]!.failure?.code).toBe(1013);
    expect(outcomes[1]!.failure?.code).toBe(1013);
  });
});

// -- work quantum ----------------------------------------------------------------------------------

interface QuantumRun {
  frames: Frame[];
  /** nextFrame() calls made (those that returned null for lack of input included). */
  calls: number;
  /** Extension output (inflated bytes) produced by each nextFrame() call. */
  perCall: number[];
  /** workPending after each call that returned null. */
  pendingAfterNull: boolean[];
}

function runQuantum(options: FrameDecoderOptions, counting: CountingExtension, chunks: readonly Uint8Array[]): QuantumRun {
  const decoder = new FrameDecoder({ ...options, extensions: [counting] });
  const frames: Frame[] = [];
  const perCall: number[] = [];
  const pendingAfterNull: boolean[] = [];
  let calls = 0;
  for (const chunk of chunks) {
    decoder.receiveBytes(chunk.slice());
    for (;;) {
      const before = counting.produced;
      const frame = decoder.nextFrame();
      calls++;
      perCall.push(counting.produced - before);
      if (frame !== null) {
        expect(decoder.workPending).toBe(false);
        frames.push(frame);
        continue;
      }
      pendingAfterNull.push(decoder.workPending);
      if (!decoder.workPending) break;
    }
  }
  expect(decoder.workPending).toBe(false);
  return { frames, calls, perCall, pendingAfterNull };
}

describe("FrameDecoder work quantum", () => {
  const QUANTUM = 256 * 1024;
  const big = new Uint8Array(8 * MiB);
  for (let i = 0; i < big.length; i += 4096) big[i] = (i >> 12) & 0xff; // mostly zeros: near DEFLATE's best ratio
  const bigCompressed = deflate(big);

  it("an 8 MiB compressed message with workQuantum 256 KiB takes many calls, each within about one quantum + one piece", () => {
    expect(bigCompressed.length).toBeLessThan(64 * 1024);
    const counting = new CountingExtension(deflateExtension(true));
    const result = runQuantum(
      { client: true, maxMessageSize: 16 * MiB, assembleMessages: true, workQuantum: QUANTUM },
      counting,
      [wire(true, { opcode: Opcode.BINARY, rsv1: true, payload: bigCompressed })],
    );
    expect(result.frames).toHaveLength(1);
    expectSameBytes(result.frames[0]!.payload, big);
    // Every call but the last stopped at the quantum with work left.
    const nulls = result.pendingAfterNull;
    expect(nulls.length).toBeGreaterThanOrEqual(16);
    expect(nulls.slice(0, -1).every((pending) => pending)).toBe(true);
    // (the very last call found no input: not a stop for work)
    expect(nulls[nulls.length - 1]).toBe(false);
    // Extensions are handed max(256, quantum / 1024) received bytes at a time.
    expect(Math.max(...counting.inputs)).toBeLessThanOrEqual(Math.max(256, QUANTUM / 1024));
    const piece = Math.max(...counting.outputs);
    expect(piece).toBeLessThanOrEqual(1032 * 256 + 1024);
    // Each call's inflated output: at most one quantum plus one piece.
    for (const produced of result.perCall) expect(produced).toBeLessThanOrEqual(QUANTUM + piece);
    expect(result.perCall.reduce((sum, n) => sum + n, 0)).toBe(big.length);
    expect(result.calls).toBeGreaterThanOrEqual(Math.floor(big.length / (QUANTUM + piece)));
  });

  it("the assembled message is the same byte for byte with and without a quantum, and with a larger quantum the pieces grow", () => {
    const frames = [concatBytes(...messageFrames(true, Opcode.BINARY, pieces(bigCompressed, 3), true))];
    const plain = runQuantum({ client: true, maxMessageSize: 16 * MiB, assembleMessages: true }, new CountingExtension(deflateExtension(true)), frames);
    expect(plain.frames).toHaveLength(1);
    expect(plain.pendingAfterNull.every((pending) => !pending)).toBe(true);
    const bigQuantum = 4 * MiB;
    const counting = new CountingExtension(deflateExtension(true));
    const bounded = runQuantum({ client: true, maxMessageSize: 16 * MiB, assembleMessages: true, workQuantum: bigQuantum }, counting, frames);
    expect(bounded.frames).toHaveLength(1);
    expectSameBytes(bounded.frames[0]!.payload, plain.frames[0]!.payload as Uint8Array);
    expectSameBytes(bounded.frames[0]!.payload, big);
    expect(Math.max(...counting.inputs)).toBeLessThanOrEqual(bigQuantum / 1024);
    expect(bounded.pendingAfterNull.filter((pending) => pending).length).toBeGreaterThanOrEqual(1);
  });

  it("piece by piece with a quantum delivers the same bytes, in pieces each from at most max(256, quantum/1024) received bytes", () => {
    const frames = messageFrames(false, Opcode.BINARY, pieces(bigCompressed, 2), true);
    const counting = new CountingExtension(deflateExtension(false));
    const result = runQuantum({ client: false, maxMessageSize: 16 * MiB, workQuantum: QUANTUM }, counting, frames);
    const payloads = result.frames.map((frame) => frame.payload as Uint8Array);
    expectSameBytes(concatBytes(...payloads), big);
    expect(result.frames.at(-1)?.messageFinished).toBe(true);
    expect(Math.max(...counting.inputs)).toBeLessThanOrEqual(256);
    for (const payload of payloads) expect(payload.length).toBeLessThanOrEqual(1032 * 256 + 1024);
    const plain = runQuantum({ client: false, maxMessageSize: 16 * MiB }, new CountingExtension(deflateExtension(false)), frames);
    expectSameBytes(concatBytes(...plain.frames.map((frame) => frame.payload as Uint8Array)), big);
  });

  it("compressed text under a quantum assembles to the same string", () => {
    const text = "permessage-deflate ✓ ".repeat(60_000);
    const payload = deflate(textBytes(text));
    const frames = messageFrames(true, Opcode.TEXT, pieces(payload, 5), true);
    const result = runQuantum(
      { client: true, maxMessageSize: 16 * MiB, assembleMessages: true, workQuantum: 64 * 1024 },
      new CountingExtension(deflateExtension(true)),
      frames.map((f) => f),
    );
    expect(result.frames.map((frame) => frame.payload)).toEqual([text]);
    expect(result.pendingAfterNull.some((pending) => pending)).toBe(true);
  });

  it("without extensions: a message of many fragments already received is assembled over several calls", () => {
    const parts = Array.from({ length: 64 }, (_, k) => new Uint8Array(16 * 1024).fill(k));
    const all = concatBytes(...messageFrames(false, Opcode.BINARY, parts));
    const decoder = new FrameDecoder({ client: false, maxMessageSize: 16 * MiB, assembleMessages: true, workQuantum: 64 * 1024 });
    decoder.receiveBytes(all);
    let calls = 0;
    let frame: Frame | null = null;
    for (;;) {
      frame = decoder.nextFrame();
      calls++;
      if (frame !== null || !decoder.workPending) break;
    }
    expect(frame).not.toBeNull();
    expect(decoder.workPending).toBe(false);
    expectSameBytes(frame!.payload, concatBytes(...parts));
    // Each fragment counts its bytes twice (received and produced): about 2 fragments a call.
    expect(calls).toBeGreaterThanOrEqual(16);
    expect(decoder.nextFrame()).toBeNull();
    expect(decoder.workPending).toBe(false);
  });

  it("without extensions: assembled text over many chunks stops at the quantum and joins the same string", () => {
    const text = "ab€😀".repeat(50_000);
    const bytes = wire(true, { opcode: Opcode.TEXT, payload: textBytes(text) });
    const decoder = new FrameDecoder({ client: true, maxMessageSize: 16 * MiB, assembleMessages: true, workQuantum: 8 * 1024 });
    for (let at = 0; at < bytes.length; at += 20_000) decoder.receiveBytes(bytes.slice(at, at + 20_000));
    let stops = 0;
    let frame: Frame | null;
    for (;;) {
      frame = decoder.nextFrame();
      if (frame !== null) break;
      expect(decoder.workPending).toBe(true);
      stops++;
    }
    expect(frame.payload).toBe(text);
    expect(stops).toBeGreaterThanOrEqual(10);
  });

  it("workPending is false when nextFrame() returns null for lack of input, and is reset by the next call", () => {
    const counting = new CountingExtension(deflateExtension(true));
    const decoder = new FrameDecoder({ client: true, maxMessageSize: 16 * MiB, assembleMessages: true, workQuantum: QUANTUM, extensions: [counting] });
    expect(decoder.workPending).toBe(false);
    const bytes = wire(true, { opcode: Opcode.BINARY, rsv1: true, payload: bigCompressed });
    // Only the header: nothing to work on.
    decoder.receiveBytes(bytes.slice(0, 4));
    expect(decoder.nextFrame() === null).toBe(true);
    expect(decoder.workPending).toBe(false);
    decoder.receiveBytes(bytes.slice(4));
    // (=== null, not toBeNull: a failure would print an 8 MiB diff)
    expect(decoder.nextFrame() === null).toBe(true);
    expect(decoder.workPending).toBe(true);
    let frame: Frame | null = null;
    while (frame === null) {
      expect(decoder.workPending).toBe(true);
      frame = decoder.nextFrame();
    }
    expect(decoder.workPending).toBe(false);
    expectSameBytes(frame.payload, big);
  });

  it("any chunking and any quantum give the same frames as no quantum (assembled, with and without deflate)", () => {
    const message = fc.record({
      text: fc.boolean(),
      string: fc.string({ unit: "binary", maxLength: 300 }),
      large: fc.integer({ min: 0, max: 70_000 }),
      fragments: fc.integer({ min: 1, max: 5 }),
    });
    fc.assert(
      fc.property(
        fc.array(message, { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        fc.boolean(),
        fc.integer({ min: 1, max: 300_000 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 10 }),
        (messages, client, compress, quantum, cuts) => {
          const wireParts: Uint8Array[] = [];
          for (const m of messages) {
            const data = m.text ? textBytes(m.string + "é".repeat(m.large % 500)) : new Uint8Array(m.large).map((_, i) => (i * 31) & 0xff);
            const payload = compress ? deflate(data) : data;
            wireParts.push(...messageFrames(client, m.text ? Opcode.TEXT : Opcode.BINARY, pieces(payload, m.fragments).concat(payload.length === 0 ? [payload] : []), compress));
          }
          const all = concatBytes(...wireParts);
          const chunks = splitAt(all, cuts.map((f) => Math.floor(f * all.length)));
          const decode = (workQuantum: number | undefined): Frame[] => {
            const options: FrameDecoderOptions = { client, maxMessageSize: 16 * MiB, assembleMessages: true, ...(workQuantum === undefined ? {} : { workQuantum }) };
            if (compress) options.extensions = [deflateExtension(client)];
            return run(options, chunks, null).frames;
          };
          const plain = decode(undefined);
          expect(plain).toHaveLength(messages.length);
          const bounded = decode(quantum);
          expect(bounded.length).toBe(plain.length);
          bounded.forEach((frame, i) => {
            const expected = plain[i]!;
            expect([frame.opcode, frame.frameFinished, frame.messageFinished]).toEqual([expected.opcode, expected.frameFinished, expected.messageFinished]);
            if (typeof expected.payload === "string") expect(frame.payload).toBe(expected.payload);
            else expectSameBytes(frame.payload, expected.payload as Uint8Array);
          });
        },
      ),
      { numRuns: 60 },
    );
  });
});

// -- assembled text: fail fast on invalid UTF-8 ---------------------------------------------------

describe("FrameDecoder assembled text: invalid UTF-8 fails on arrival (Autobahn 6.4.3/6.4.4)", () => {
  const invalid: Array<[string, Uint8Array]> = [
    ["a lone continuation-less lead byte", hex("c3 28")],
    ["a surrogate", hex("ed a0 80")],
    ["a byte that never occurs (0xf5)", hex("f5")],
    ["an overlong encoding", hex("c0 af")],
    ["a code point beyond U+10FFFF", hex("f4 90 80 80")],
  ];

  for (const client of [true, false]) {
    const role = client ? "client (unmasked frames)" : "server (masked frames)";

    for (const [what, bad] of invalid) {
      it(`${role}: a text frame announcing 10000 bytes whose first chunk holds ${what} fails 1007 on that call`, () => {
        const payload = concatBytes(textBytes("κόσμε valid start "), bad, new Uint8Array(10_000).fill(0x61));
        const bytes = wire(client, { opcode: Opcode.TEXT, payload: payload.subarray(0, 10_000) });
        const header = bytes.length - 10_000;
        const decoder = new FrameDecoder({ client, maxMessageSize: MiB, assembleMessages: true });
        decoder.receiveBytes(bytes.slice(0, header + textBytes("κόσμε valid start ").length + bad.length + 3));
        let failure: unknown = null;
        try {
          decoder.nextFrame();
        } catch (error) {
          failure = error;
        }
        expect(failure).toBeInstanceOf(ParseFailed);
        expect((failure as ParseFailed).code).toBe(1007);
        expect(decoder.failure?.code).toBe(1007);
      });
    }

    it(`${role}: the invalid bytes split across chunks fail on the call that receives the byte that makes them invalid`, () => {
      // f0 9f 98 is a valid prefix (of 😀); 0x41 ends it invalidly.
      const payload = concatBytes(textBytes("abc"), hex("f0 9f 98"), textBytes("A"), new Uint8Array(5000).fill(0x62));
      const bytes = wire(client, { opcode: Opcode.TEXT, payload });
      const header = bytes.length - payload.length;
      const decoder = new FrameDecoder({ client, maxMessageSize: MiB, assembleMessages: true });
      decoder.receiveBytes(bytes.slice(0, header + 6));
      expect(decoder.nextFrame()).toBeNull();
      decoder.receiveBytes(bytes.slice(header + 6, header + 8));
      expect(() => decoder.nextFrame()).toThrow(expect.objectContaining({ code: 1007 }));
    });

    it(`${role}: in a fragmented message, invalid bytes in an unfinished later fragment fail before that fragment completes`, () => {
      const first = wire(client, { opcode: Opcode.TEXT, fin: false, payload: textBytes("hello ") });
      const secondPayload = concatBytes(textBytes("wor"), hex("ff"), new Uint8Array(3000).fill(0x63));
      const second = wire(client, { opcode: Opcode.CONTINUATION, payload: secondPayload });
      const decoder = new FrameDecoder({ client, maxMessageSize: MiB, assembleMessages: true });
      decoder.receiveBytes(first);
      expect(decoder.nextFrame()).toBeNull();
      decoder.receiveBytes(second.slice(0, second.length - secondPayload.length + 10));
      expect(() => decoder.nextFrame()).toThrow(expect.objectContaining({ code: 1007 }));
    });

    it(`${role}: a large (> 16 KiB) text frame with the invalid byte in its first chunk fails before the rest arrives`, () => {
      const payload = new Uint8Array(100_000).fill(0x61);
      payload[1000] = 0x80;
      const bytes = wire(client, { opcode: Opcode.TEXT, payload });
      const decoder = new FrameDecoder({ client, maxMessageSize: MiB, assembleMessages: true });
      decoder.receiveBytes(bytes.slice(0, 4096));
      expect(() => decoder.nextFrame()).toThrow(expect.objectContaining({ code: 1007 }));
    });

    it(`${role}: a valid text frame split inside code points assembles correctly at every split`, () => {
      const text = "κόσμε😀€a\u0000\uffff";
      const payload = textBytes(text);
      const bytes = wire(client, { opcode: Opcode.TEXT, payload });
      for (let cut = 1; cut < bytes.length; cut++) {
        for (const second of [cut, Math.min(bytes.length - 1, cut + 1), Math.min(bytes.length - 1, cut + 3)]) {
          const chunks = splitAt(bytes, [cut, second]);
          const outcome = run({ client, maxMessageSize: MiB, assembleMessages: true }, chunks, null);
          expect(outcome.failure).toBeNull();
          expect(outcome.frames).toEqual([{ opcode: Opcode.TEXT, payload: text, frameFinished: true, messageFinished: true }]);
        }
      }
    });

    it(`${role}: any text, fragmented and chunked anywhere, assembles to itself (and a partial message yields nothing early)`, () => {
      fc.assert(
        fc.property(
          fc.string({ unit: "binary", maxLength: 200 }),
          fc.array(fc.nat(), { maxLength: 4 }),
          fc.array(fc.nat(), { maxLength: 8 }),
          (text, fragmentCuts, chunkCuts) => {
            const payload = textBytes(text);
            const parts = splitAt(payload, fragmentCuts.map((c) => c % (payload.length + 1)));
            const all = concatBytes(...messageFrames(client, Opcode.TEXT, parts));
            const chunks = splitAt(all, chunkCuts.map((c) => c % (all.length + 1)));
            const budget = new MemoryBudget(MiB);
            const outcome = run({ client, maxMessageSize: MiB, assembleMessages: true, memory: budget.account() }, chunks, budget);
            expect(outcome.failure).toBeNull();
            expect(outcome.frames).toEqual([{ opcode: Opcode.TEXT, payload: text, frameFinished: true, messageFinished: true }]);
            expect(budget.used).toBe(0);
          },
        ),
        { numRuns: 200 },
      );
    });
  }
});

// -- the budget never changes what is delivered, only ends it with 1013 ----------------------------

describe("FrameDecoder memory budget: a property", () => {
  it("with any budget and chunking, frames are those without a budget, or a prefix of them ended by 1013; held ≤ limit always", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({ text: fc.boolean(), size: fc.integer({ min: 0, max: 20_000 }), fragments: fc.integer({ min: 1, max: 6 }) }),
          { minLength: 1, maxLength: 5 },
        ),
        fc.boolean(),
        fc.boolean(),
        fc.integer({ min: 0, max: 60_000 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 }),
        fc.option(fc.integer({ min: 1, max: 50_000 }), { nil: undefined }),
        (messages, client, assembleMessages, limit, cuts, workQuantum) => {
          const all = concatBytes(
            ...messages.flatMap((m) => {
              const data = m.text ? textBytes("ü".repeat(m.size >> 1)) : new Uint8Array(m.size).map((_, i) => i & 0xff);
              return messageFrames(client, m.text ? Opcode.TEXT : Opcode.BINARY, splitAt(data, Array.from({ length: m.fragments - 1 }, (_, k) => ((k + 1) * data.length) / m.fragments)).filter((p, i, arr) => p.length > 0 || arr.length === 1));
            }),
          );
          const chunks = splitAt(all, cuts.map((f) => Math.floor(f * all.length)));
          const options: FrameDecoderOptions = { client, maxMessageSize: MiB, assembleMessages, ...(workQuantum === undefined ? {} : { workQuantum }) };
          const free = run(options, chunks, null);
          expect(free.failure).toBeNull();
          const budget = new MemoryBudget(limit);
          const account: MemoryAccount = budget.account();
          const bounded = run({ ...options, memory: account }, chunks, budget);
          if (bounded.failure !== null) expect(bounded.failure.code).toBe(1013);
          else expect(bounded.frames.length).toBe(free.frames.length);
          expect(bounded.frames.length).toBeLessThanOrEqual(free.frames.length);
          bounded.frames.forEach((frame, i) => {
            const expected = free.frames[i]!;
            expect(frame.opcode).toBe(expected.opcode);
            if (typeof expected.payload === "string") expect(frame.payload).toBe(expected.payload);
            else expectSameBytes(frame.payload, expected.payload as Uint8Array);
          });
          expect(account.held).toBe(0);
          expect(budget.used).toBe(0);
        },
      ),
      { numRuns: 150 },
    );
  });
});
