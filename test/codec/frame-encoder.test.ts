import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Extension } from "../../codec/extension.js";
import { FrameDecoder } from "../../codec/frame-decoder.js";
import { FrameEncoder, type FrameEncoderOptions } from "../../codec/frame-encoder.js";
import { type Frame, Opcode, type RsvBits } from "../../codec/frame.js";
import type { Masker } from "../../codec/mask.js";
import { LocalProtocolError } from "../../codec/errors.js";
import { buildFrame, CLIENT, concatBytes, decodeAll, expectSameBytes, hex, KEY, SERVER, splitAt, textBytes } from "./frame-helpers.js";

const fixedKey = (key: Uint8Array): void => key.set(KEY);
const server = (): FrameEncoder => new FrameEncoder({ client: false });
const client = (options: Partial<FrameEncoderOptions> = {}): FrameEncoder =>
  new FrameEncoder({ client: true, randomMaskKey: fixedKey, ...options });

describe("FrameEncoder: RFC 6455 §5.7 examples", () => {
  it("encodes an unmasked text frame (server)", () => {
    expect(server().text("Hello")).toEqual(hex("81 05 48 65 6c 6c 6f"));
  });

  it("encodes a masked text frame (client)", () => {
    expect(client().text("Hello")).toEqual(hex("81 85 37 fa 21 3d 7f 9f 4d 51 58"));
  });

  it("encodes a fragmented text message", () => {
    const encoder = server();
    expect(encoder.text("Hel", false)).toEqual(hex("01 03 48 65 6c"));
    expect(encoder.messageInProgress).toBe(true);
    expect(encoder.text("lo", true)).toEqual(hex("80 02 6c 6f"));
    expect(encoder.messageInProgress).toBe(false);
  });

  it("encodes ping and pong, masked and not", () => {
    expect(server().ping(textBytes("Hello"))).toEqual(hex("89 05 48 65 6c 6c 6f"));
    expect(client().pong(textBytes("Hello"))).toEqual(hex("8a 85 37 fa 21 3d 7f 9f 4d 51 58"));
    expect(server().ping()).toEqual(hex("89 00"));
  });

  it("uses the 16-bit length from 126 bytes and the 64-bit length from 65536", () => {
    expect(server().binary(new Uint8Array(125)).subarray(0, 2)).toEqual(hex("82 7d"));
    expect(server().binary(new Uint8Array(126)).subarray(0, 4)).toEqual(hex("82 7e 00 7e"));
    expect(server().binary(new Uint8Array(256)).subarray(0, 4)).toEqual(hex("82 7e 01 00"));
    expect(server().binary(new Uint8Array(65535)).subarray(0, 4)).toEqual(hex("82 7e ff ff"));
    expect(server().binary(new Uint8Array(65536)).subarray(0, 10)).toEqual(hex("82 7f 00 00 00 00 00 01 00 00"));
    expect(client().binary(new Uint8Array(65536)).subarray(0, 14)).toEqual(hex("82 ff 00 00 00 00 00 01 00 00 37 fa 21 3d"));
  });

  it("writes the same bytes as the reference builder for text and binary of every length class", () => {
    for (const length of [0, 1, 3, 63, 64, 65, 125, 126, 1023, 1024, 1025, 65535, 65536, 100_003]) {
      const payload = new Uint8Array(length).map((_, i) => (i * 11 + 3) & 0xff);
      expectSameBytes(server().binary(payload), buildFrame({ opcode: Opcode.BINARY, payload }));
      expectSameBytes(client().binary(payload), buildFrame({ opcode: Opcode.BINARY, payload, maskKey: KEY }));
      // Unaligned source views exercise the masker's alignment handling.
      const unaligned = new Uint8Array(length + 3).subarray(3);
      unaligned.set(payload);
      expectSameBytes(client().binary(unaligned), buildFrame({ opcode: Opcode.BINARY, payload, maskKey: KEY }));
      const text = "é".repeat(length >> 1) + "x".repeat(length & 1);
      expectSameBytes(client().text(text), buildFrame({ opcode: Opcode.TEXT, payload: textBytes(text), maskKey: KEY }));
      const ascii = "a".repeat(length);
      expectSameBytes(server().text(ascii), buildFrame({ opcode: Opcode.TEXT, payload: textBytes(ascii) }));
      expectSameBytes(client().text(ascii), buildFrame({ opcode: Opcode.TEXT, payload: textBytes(ascii), maskKey: KEY }));
    }
  });
});

describe("FrameEncoder: text with lone surrogates", () => {
  it("writes U+FFFD for them, as TextEncoder does, in short and long text, both roles", () => {
    for (const text of ["a\ud800b", `${"x".repeat(100)}\udc00😀\ud83d`]) {
      expect(server().text(text)).toEqual(buildFrame({ opcode: Opcode.TEXT, payload: textBytes(text) }));
      expect(client().text(text)).toEqual(buildFrame({ opcode: Opcode.TEXT, payload: textBytes(text), maskKey: KEY }));
    }
  });
});

describe("FrameEncoder: close frames", () => {
  it("encodes an empty close, a code, and a code with a reason", () => {
    expect(server().close()).toEqual(hex("88 00"));
    expect(server().close(1000)).toEqual(hex("88 02 03 e8"));
    expect(server().close(1001, "bye")).toEqual(hex("88 05 03 e9 62 79 65"));
  });

  it("sends a reason of up to 123 bytes and refuses a longer one rather than cut it", () => {
    // 41 three-byte euros are 123 bytes; the 42nd would not fit.
    const frame = server().close(1000, "€".repeat(41));
    expect(frame[1]).toBe(2 + 123);
    expect(new TextDecoder("utf-8", { fatal: true }).decode(frame.subarray(4))).toBe("€".repeat(41));
    expect(() => server().close(1000, "€".repeat(42))).toThrow(LocalProtocolError);
  });

  it("refuses close codes the RFC forbids on the wire", () => {
    for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000]) {
      expect(() => server().close(code)).toThrow(LocalProtocolError);
    }
  });
});

describe("FrameEncoder: message tracking", () => {
  it("uses CONTINUATION after the first frame of a message", () => {
    const encoder = server();
    expect(encoder.binary(hex("01"), false)[0]).toBe(0x02);
    expect(encoder.binary(hex("02"), false)[0]).toBe(0x00);
    expect(encoder.binary(hex("03"), true)[0]).toBe(0x80);
    expect(encoder.binary(hex("04"), true)[0]).toBe(0x82);
  });

  it("refuses a message of the other type while one is unfinished, and changes nothing", () => {
    const encoder = server();
    encoder.text("a", false);
    expect(() => encoder.binary(hex("01"))).toThrow(LocalProtocolError);
    expect(() => encoder.binary(hex("01"))).toThrow(
      "cannot send binary data while a fragmented text message is unfinished (RFC 6455 §5.4)",
    );
    expect(() => encoder.binaryParts(hex("01"))).toThrow(LocalProtocolError);
    expect(encoder.text("b")).toEqual(hex("80 01 62"));
    encoder.binary(hex("01"), false);
    expect(() => encoder.text("x")).toThrow("cannot send text data while a fragmented binary message is unfinished (RFC 6455 §5.4)");
    expect(() => encoder.textParts("x")).toThrow(LocalProtocolError);
  });

  it("allows control frames between fragments", () => {
    const encoder = server();
    encoder.text("a", false);
    expect(encoder.ping(hex("01"))).toEqual(hex("89 01 01"));
    expect(encoder.close(1000)).toEqual(hex("88 02 03 e8"));
    expect(encoder.text("b")).toEqual(hex("80 01 62"));
  });

  it("refuses control payloads over 125 bytes", () => {
    expect(() => server().ping(new Uint8Array(126))).toThrow(
      "ping payload of 126 bytes: control frames carry at most 125 (RFC 6455 §5.5)",
    );
    expect(() => client().pong(new Uint8Array(200))).toThrow(LocalProtocolError);
    expect(server().ping(new Uint8Array(125))).toHaveLength(127);
  });
});

describe("FrameEncoder: masking keys", () => {
  it("masks every client frame with a fresh key from the random pool", () => {
    const encoder = new FrameEncoder({ client: true });
    const keys = new Set<string>();
    // More frames than one pool of randomness (8 KiB / 4 bytes) holds.
    for (let i = 0; i < 2100; i++) {
      const frame = encoder.binary(hex("00 00 00 00"));
      expect(frame[1]! & 0x80).toBe(0x80);
      // Masking zeros leaves the key itself in the payload.
      expect(frame.subarray(6, 10)).toEqual(frame.subarray(2, 6));
      keys.add(Array.from(frame.subarray(2, 6)).join(","));
    }
    // 2100 random 32-bit keys all distinct, except with probability about 5e-4.
    expect(keys.size).toBeGreaterThan(2095);
  });

  it("never masks server frames", () => {
    expect(server().binary(new Uint8Array(300))[1]! & 0x80).toBe(0);
  });

  it("uses the masker given in the options", () => {
    const sizes: number[] = [];
    const masker: Masker = {
      mask(source, key, target, offset) {
        sizes.push(source.length);
        for (let i = 0; i < source.length; i++) target[offset + i] = source[i]! ^ key[i & 3]!;
      },
      unmask: () => {
        throw new Error("an encoder never unmasks");
      },
    };
    const frame = client({ masker }).binary(textBytes("Hello"));
    expect(frame).toEqual(hex("82 85 37 fa 21 3d 7f 9f 4d 51 58"));
    expect(sizes).toEqual([5]);
  });
});

describe("FrameEncoder: parts", () => {
  it("returns a server's header and the caller's payload without copying", () => {
    const payload = new Uint8Array(70_000).fill(1);
    const parts = server().binaryParts(payload);
    expect(parts).toHaveLength(2);
    expect(parts[0]).toEqual(hex("82 7f 00 00 00 00 00 01 11 70"));
    expect(parts[1]).toBe(payload);
    expect(server().binaryParts(new Uint8Array(0))).toEqual([hex("82 00")]);
    expect(concatBytes(...server().textParts("héllo", false))).toEqual(buildFrame({ opcode: Opcode.TEXT, fin: false, payload: textBytes("héllo") }));
  });

  it("returns a client's frame as one masked buffer", () => {
    const payload = new Uint8Array(300).fill(9);
    const parts = client().binaryParts(payload);
    expect(parts).toHaveLength(1);
    expectSameBytes(parts[0], buildFrame({ opcode: Opcode.BINARY, payload, maskKey: KEY }));
    expect(payload[0]).toBe(9);
  });
});

class RecordingExtension implements Extension {
  readonly name = "x-recording";
  readonly rsvBits: RsvBits = { rsv1: true, rsv2: false, rsv3: false };
  readonly calls: string[] = [];
  enabled(): boolean {
    return true;
  }
  offer(): boolean {
    return true;
  }
  accept(): boolean {
    return true;
  }
  finalize(): void {}
  frameInboundHeader(_opcode: Opcode, rsv: RsvBits): RsvBits {
    return rsv;
  }
  frameInboundPayloadData(data: Uint8Array): Uint8Array {
    return data;
  }
  frameInboundComplete(): Uint8Array | null {
    return null;
  }
  frameOutbound(opcode: Opcode, rsv: RsvBits, data: Uint8Array, fin: boolean): { rsv: RsvBits; data: Uint8Array } {
    this.calls.push(`${opcode} ${data.length} ${fin}`);
    // Reverse the payload and set RSV1 on a message's first frame, as a compressor would.
    return { rsv: opcode === Opcode.CONTINUATION ? rsv : { ...rsv, rsv1: true }, data: data.slice().reverse() };
  }
}

describe("FrameEncoder: extensions", () => {
  it("runs frameOutbound on data frames only and writes the RSV bits it returns", () => {
    const extension = new RecordingExtension();
    const encoder = new FrameEncoder({ client: false, extensions: [extension] });
    expect(encoder.text("abc", false)).toEqual(hex("41 03 63 62 61"));
    expect(encoder.ping(hex("01"))).toEqual(hex("89 01 01"));
    expect(encoder.text("de")).toEqual(hex("80 02 65 64"));
    expect(concatBytes(...encoder.binaryParts(hex("01 02")))).toEqual(hex("c2 02 02 01"));
    expect(encoder.close(1000)).toEqual(hex("88 02 03 e8"));
    expect(extension.calls).toEqual(["1 3 false", "0 2 true", "2 2 true"]);
  });
});

describe("FrameEncoder → FrameDecoder round trips", () => {
  const lengths = [0, 1, 125, 126, 127, 65535, 65536, 65537, 300_000];

  for (const role of ["client", "server"] as const) {
    it(`round-trips binary and text of every length class (${role} encodes)`, () => {
      const encoder = new FrameEncoder({ client: role === "client" });
      const decoderOptions = role === "client" ? SERVER : CLIENT;
      for (const length of lengths) {
        const payload = new Uint8Array(length).map((_, i) => (i * 7 + length) & 0xff);
        const frames = decodeAll(decoderOptions, splitAt(encoder.binary(payload), [1, 5, 9, 4000, 70_000]));
        expectSameBytes(concatBytes(...frames.map((frame) => frame.payload as Uint8Array)), payload);
        expect(frames.at(-1)).toMatchObject({ opcode: Opcode.BINARY, frameFinished: true, messageFinished: true });

        const text = "ab€😀".repeat(Math.ceil(length / 9)).slice(0, length);
        const parts = decodeAll(decoderOptions, splitAt(encoder.text(text), [2, 3, 11, 65_000]));
        expect(parts.map((frame) => frame.payload).join("")).toBe(text);
      }
    });
  }

  it("round-trips arbitrary fragmented messages with interleaved control frames", () => {
    type Step = { kind: "text"; data: string; fin: boolean } | { kind: "binary"; data: Uint8Array; fin: boolean } | { kind: "ping"; data: Uint8Array };
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({ kind: fc.constant("text" as const), data: fc.string({ unit: "grapheme", maxLength: 50 }), fin: fc.boolean() }),
            fc.record({ kind: fc.constant("binary" as const), data: fc.uint8Array({ maxLength: 300 }), fin: fc.boolean() }),
            fc.record({ kind: fc.constant("ping" as const), data: fc.uint8Array({ maxLength: 125 }) }),
          ),
          { maxLength: 15 },
        ),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 10 }),
        (steps: Step[], asClient, cuts) => {
          const encoder = new FrameEncoder({ client: asClient });
          const wire: Uint8Array[] = [];
          const expected: string[] = [];
          let open: "text" | "binary" | null = null;
          let accumulated: Array<string | Uint8Array> = [];
          for (const step of steps) {
            if (step.kind === "ping") {
              wire.push(encoder.ping(step.data));
              expected.push(`ping ${Array.from(step.data).join(",")}`);
              continue;
            }
            if (open !== null && open !== step.kind) {
              expect(() => (step.kind === "text" ? encoder.text(step.data, step.fin) : encoder.binary(step.data, step.fin))).toThrow(LocalProtocolError);
              continue;
            }
            wire.push(step.kind === "text" ? encoder.text(step.data, step.fin) : encoder.binary(step.data, step.fin));
            accumulated.push(step.data);
            open = step.fin ? null : step.kind;
            if (step.fin) {
              expected.push(
                step.kind === "text"
                  ? `text ${JSON.stringify((accumulated as string[]).map((part) => new TextDecoder().decode(textBytes(part))).join(""))}`
                  : `binary ${Array.from(concatBytes(...(accumulated as Uint8Array[]))).join(",")}`,
              );
              accumulated = [];
            }
          }
          const bytes = concatBytes(...wire);
          const frames: Frame[] = decodeAll(asClient ? SERVER : CLIENT, splitAt(bytes, cuts.map((cut) => cut % (bytes.length + 1))));
          const seen: string[] = [];
          let parts: Array<string | Uint8Array> = [];
          for (const frame of frames) {
            if (frame.opcode === Opcode.PING) {
              seen.push(`ping ${Array.from(frame.payload as Uint8Array).join(",")}`);
              continue;
            }
            parts.push(frame.payload as string | Uint8Array);
            if (frame.messageFinished) {
              seen.push(
                frame.opcode === Opcode.TEXT
                  ? `text ${JSON.stringify(parts.join(""))}`
                  : `binary ${Array.from(concatBytes(...(parts as Uint8Array[]))).join(",")}`,
              );
              parts = [];
            }
          }
          expect(seen).toEqual(expected);
          // A decoder that saw the unfinished message, if any, still has it open.
          const decoder = new FrameDecoder(asClient ? SERVER : CLIENT);
          decoder.receiveBytes(bytes.slice());
          while (decoder.nextFrame() !== null);
          expect(decoder.messageInProgress).toBe(open !== null);
        },
      ),
      { numRuns: 200 },
    );
  });
});
