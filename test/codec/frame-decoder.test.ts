import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Extension } from "../../codec/extension.js";
import { FrameDecoder, type FrameDecoderOptions } from "../../codec/frame-decoder.js";
import { type ClosePayload, type Frame, Opcode, ParseFailed, type RsvBits } from "../../codec/frame.js";
import type { Masker } from "../../codec/mask.js";
import { setByteAllocator } from "../../codec/bytes.js";
import {
  buildFrame,
  CLIENT,
  concatBytes,
  decodeAll,
  decodeFailure,
  expectSameBytes,
  hex,
  KEY,
  type RawFrame,
  SERVER,
  splitAt,
  textBytes,
} from "./frame-helpers.js";

/** The same frame as a server receives it (masked) and as a client receives it (unmasked). */
function bothDirections(frame: RawFrame): Array<[string, FrameDecoderOptions, Uint8Array]> {
  return [
    ["server", SERVER, buildFrame({ ...frame, maskKey: KEY })],
    ["client", CLIENT, buildFrame({ ...frame, maskKey: undefined })],
  ];
}

function expectFailure(options: FrameDecoderOptions, bytes: Uint8Array[], code: number, reason: string | RegExp): ParseFailed {
  const failure = decodeFailure(options, bytes);
  expect(failure.code).toBe(code);
  if (typeof reason === "string") expect(failure.message).toBe(reason);
  else expect(failure.message).toMatch(reason);
  return failure;
}

describe("FrameDecoder: RFC 6455 §5.7 examples", () => {
  it("decodes a single-frame unmasked text message (client side)", () => {
    const frames = decodeAll(CLIENT, [hex("81 05 48 65 6c 6c 6f")]);
    expect(frames).toEqual([{ opcode: Opcode.TEXT, payload: "Hello", frameFinished: true, messageFinished: true }]);
  });

  it("decodes a single-frame masked text message (server side)", () => {
    const frames = decodeAll(SERVER, [hex("81 85 37 fa 21 3d 7f 9f 4d 51 58")]);
    expect(frames).toEqual([{ opcode: Opcode.TEXT, payload: "Hello", frameFinished: true, messageFinished: true }]);
  });

  it("decodes a fragmented unmasked text message", () => {
    const frames = decodeAll(CLIENT, [hex("01 03 48 65 6c 80 02 6c 6f")]);
    expect(frames).toEqual([
      { opcode: Opcode.TEXT, payload: "Hel", frameFinished: true, messageFinished: false },
      { opcode: Opcode.TEXT, payload: "lo", frameFinished: true, messageFinished: true },
    ]);
  });

  it("decodes an unmasked ping and a masked pong", () => {
    expect(decodeAll(CLIENT, [hex("89 05 48 65 6c 6c 6f")])).toEqual([
      { opcode: Opcode.PING, payload: textBytes("Hello"), frameFinished: true, messageFinished: true },
    ]);
    expect(decodeAll(SERVER, [hex("8a 85 37 fa 21 3d 7f 9f 4d 51 58")])).toEqual([
      { opcode: Opcode.PONG, payload: textBytes("Hello"), frameFinished: true, messageFinished: true },
    ]);
  });

  it("decodes 256 bytes with a 16-bit length and 65536 bytes with a 64-bit length", () => {
    const small = new Uint8Array(256).map((_, i) => i);
    const [first] = decodeAll(CLIENT, [concatBytes(hex("82 7e 01 00"), small)]);
    expect(first).toEqual({ opcode: Opcode.BINARY, payload: small, frameFinished: true, messageFinished: true });
    const large = new Uint8Array(65536).map((_, i) => i * 7);
    const [second] = decodeAll(CLIENT, [concatBytes(hex("82 7f 00 00 00 00 00 01 00 00"), large)]);
    expect(second).toMatchObject({ opcode: Opcode.BINARY, frameFinished: true, messageFinished: true });
    expectSameBytes(second!.payload, large);
  });
});

describe("FrameDecoder: header rules (RFC 6455 §5.2)", () => {
  for (const opcode of [0x3, 0x4, 0x5, 0x6, 0x7]) {
    for (const [side, options, bytes] of bothDirections({ opcode })) {
      it(`fails 1002 on reserved non-control opcode 0x${opcode.toString(16)} (${side})`, () => {
        expectFailure(options, [bytes], 1002, `reserved non-control opcode 0x${opcode.toString(16)} (RFC 6455 §5.2)`);
      });
    }
  }
  for (const opcode of [0xb, 0xc, 0xd, 0xe, 0xf]) {
    for (const [side, options, bytes] of bothDirections({ opcode })) {
      it(`fails 1002 on reserved control opcode 0x${opcode.toString(16)} (${side})`, () => {
        expectFailure(options, [bytes], 1002, `reserved control opcode 0x${opcode.toString(16)} (RFC 6455 §5.2)`);
      });
    }
  }

  for (const bit of ["rsv1", "rsv2", "rsv3"] as const) {
    for (const [side, options, bytes] of bothDirections({ opcode: Opcode.TEXT, [bit]: true, payload: textBytes("x") })) {
      it(`fails 1002 on ${bit.toUpperCase()} without a negotiated extension (${side})`, () => {
        expectFailure(options, [bytes], 1002, `${bit.toUpperCase()} set but no negotiated extension claims it (RFC 6455 §5.2)`);
      });
    }
  }

  it("fails as soon as the first two bytes show a violation, before the rest of the header", () => {
    const decoder = new FrameDecoder(SERVER);
    decoder.receiveBytes(hex("83 ff"));
    expect(() => decoder.nextFrame()).toThrow(ParseFailed);
  });

  for (const [side, options] of [["server", SERVER], ["client", CLIENT]] as const) {
    const mask = options.client ? "" : "37 fa 21 3d";
    const maskBit = options.client ? 0 : 0x80;
    const byte = (value: number): string => (maskBit | value).toString(16).padStart(2, "0");

    it(`fails 1002 on a 16-bit length under 126 (${side})`, () => {
      expectFailure(options, [hex(`82 ${byte(126)} 00 7d ${mask}`)], 1002,
        "payload length 125 sent in the 16-bit form; up to 125 the 7-bit form is required (RFC 6455 §5.2)");
    });

    it(`fails 1002 on a 64-bit length under 65536 (${side})`, () => {
      expectFailure(options, [hex(`82 ${byte(127)} 00 00 00 00 00 00 ff ff ${mask}`)], 1002,
        "payload length 65535 sent in the 64-bit form; up to 65535 a shorter form is required (RFC 6455 §5.2)");
    });

    it(`fails 1002 on a 64-bit length with the most significant bit set (${side})`, () => {
      expectFailure(options, [hex(`82 ${byte(127)} 80 00 00 00 00 00 00 00 ${mask}`)], 1002,
        "64-bit payload length with the most significant bit set (RFC 6455 §5.2)");
    });

    it(`fails 1009 on a 64-bit length over 2^53 − 1 (${side})`, () => {
      const failure = decodeFailure({ ...options, maxMessageSize: Number.MAX_SAFE_INTEGER }, [hex(`82 ${byte(127)} 00 20 00 00 00 00 00 00 ${mask}`)]);
      expect(failure.code).toBe(1009);
      expect(failure.message).toBe("frame payload length over 2^53 − 1 bytes: larger than any message can be (RFC 6455 §10.4)");
    });

    it(`accepts the largest 7-bit and smallest 16-bit and 64-bit lengths (${side})`, () => {
      for (const length of [125, 126, 65535, 65536]) {
        const payload = new Uint8Array(length).fill(0x61);
        const bytes = buildFrame({ opcode: Opcode.BINARY, payload, maskKey: options.client ? undefined : KEY });
        const frames = decodeAll(options, [bytes]);
        expect(frames).toHaveLength(1);
        expectSameBytes(frames[0]!.payload, payload);
      }
    });
  }
});

describe("FrameDecoder: masking (RFC 6455 §5.1)", () => {
  it("fails 1002 when a server receives an unmasked frame", () => {
    expectFailure(SERVER, [hex("81 05 48 65 6c 6c 6f")], 1002,
      "unmasked frame from the client: a client must mask every frame (RFC 6455 §5.1)");
  });

  it("fails 1002 when a client receives a masked frame", () => {
    expectFailure(CLIENT, [hex("81 85 37 fa 21 3d 7f 9f 4d 51 58")], 1002,
      "masked frame from the server: a server must not mask frames (RFC 6455 §5.1)");
  });

  it("unmasks a payload delivered in pieces that start at every key phase", () => {
    const payload = new Uint8Array(40_000).map((_, i) => (i * 31) & 0xff);
    const bytes = buildFrame({ opcode: Opcode.BINARY, payload, maskKey: KEY });
    // Pieces of 20 001 bytes and more stay uncoalesced; odd cut points cover every phase.
    const chunks = splitAt(bytes, [20_001, 20_002, 20_003, 30_005]);
    const frames = decodeAll(SERVER, chunks);
    expect(frames.length).toBeGreaterThan(1);
    expectSameBytes(concatBytes(...frames.map((frame) => frame.payload as Uint8Array)), payload);
  });

  it("unmasks in place: a payload within one chunk is a view of that chunk", () => {
    const decoder = new FrameDecoder(SERVER);
    const chunk = hex("82 85 37 fa 21 3d 7f 9f 4d 51 58");
    decoder.receiveBytes(chunk);
    const frame = decoder.nextFrame()!;
    const payload = frame.payload as Uint8Array;
    expect(payload).toEqual(textBytes("Hello"));
    expect(payload.buffer).toBe(chunk.buffer);
    expect(chunk.subarray(6)).toEqual(textBytes("Hello"));
  });

  it("uses the masker given in the options", () => {
    const calls: number[] = [];
    const masker: Masker = {
      mask: () => {
        throw new Error("a decoder never masks");
      },
      unmask(buffer, key) {
        calls.push(buffer.length);
        for (let i = 0; i < buffer.length; i++) buffer[i]! ^= key[i & 3]!;
      },
    };
    const frames = decodeAll({ ...SERVER, masker }, [hex("81 85 37 fa 21 3d 7f 9f 4d 51 58")]);
    expect(frames[0]!.payload).toBe("Hello");
    expect(calls).toEqual([5]);
  });
});

describe("FrameDecoder: fragmentation and control frames (RFC 6455 §5.4, §5.5)", () => {
  for (const opcode of [Opcode.PING, Opcode.PONG, Opcode.CLOSE]) {
    for (const [side, options, bytes] of bothDirections({ opcode, fin: false })) {
      it(`fails 1002 on a fragmented control frame 0x${opcode.toString(16)} (${side})`, () => {
        expectFailure(options, [bytes], 1002, "fragmented control frame: control frames must have FIN set (RFC 6455 §5.5)");
      });
    }
    for (const [side, options, bytes] of bothDirections({ opcode, payload: new Uint8Array(126) })) {
      it(`fails 1002 on a 126-byte control frame 0x${opcode.toString(16)} (${side})`, () => {
        expectFailure(options, [bytes], 1002, "control frame payload longer than 125 bytes (RFC 6455 §5.5)");
      });
    }
  }

  it("accepts a 125-byte ping", () => {
    const payload = new Uint8Array(125).fill(7);
    expect(decodeAll(CLIENT, [buildFrame({ opcode: Opcode.PING, payload })])[0]!.payload).toEqual(payload);
  });

  for (const [side, options, bytes] of bothDirections({ opcode: Opcode.CONTINUATION, payload: textBytes("x") })) {
    it(`fails 1002 on a continuation frame with no message open (${side})`, () => {
      expectFailure(options, [bytes], 1002, "continuation frame without a fragmented message to continue (RFC 6455 §5.4)");
    });
  }

  for (const [side, options] of [["server", SERVER], ["client", CLIENT]] as const) {
    const maskKey = options.client ? undefined : KEY;
    it(`fails 1002 on a new data message while one is open (${side})`, () => {
      const bytes = concatBytes(
        buildFrame({ opcode: Opcode.TEXT, fin: false, payload: textBytes("a"), maskKey }),
        buildFrame({ opcode: Opcode.BINARY, payload: textBytes("b"), maskKey }),
      );
      expectFailure(options, [bytes], 1002, "new data message started while a fragmented message is unfinished (RFC 6455 §5.4)");
    });

    it(`fails 1002 on a continuation after the message finished (${side})`, () => {
      const bytes = concatBytes(
        buildFrame({ opcode: Opcode.TEXT, payload: textBytes("a"), maskKey }),
        buildFrame({ opcode: Opcode.CONTINUATION, payload: textBytes("b"), maskKey }),
      );
      expectFailure(options, [bytes], 1002, /continuation frame without a fragmented message/);
    });

    it(`delivers control frames between the fragments of a message (${side})`, () => {
      const bytes = concatBytes(
        buildFrame({ opcode: Opcode.BINARY, fin: false, payload: hex("01 02"), maskKey }),
        buildFrame({ opcode: Opcode.PING, payload: hex("aa"), maskKey }),
        buildFrame({ opcode: Opcode.CONTINUATION, fin: false, payload: hex("03"), maskKey }),
        buildFrame({ opcode: Opcode.PONG, maskKey }),
        buildFrame({ opcode: Opcode.CONTINUATION, payload: hex("04"), maskKey }),
      );
      expect(decodeAll(options, [bytes])).toEqual([
        { opcode: Opcode.BINARY, payload: hex("01 02"), frameFinished: true, messageFinished: false },
        { opcode: Opcode.PING, payload: hex("aa"), frameFinished: true, messageFinished: true },
        { opcode: Opcode.BINARY, payload: hex("03"), frameFinished: true, messageFinished: false },
        { opcode: Opcode.PONG, payload: new Uint8Array(0), frameFinished: true, messageFinished: true },
        { opcode: Opcode.BINARY, payload: hex("04"), frameFinished: true, messageFinished: true },
      ]);
    });
  }

  it("delivers empty data frames, including an empty final fragment", () => {
    const frames = decodeAll(CLIENT, [hex("82 00 01 00 80 00 81 00")]);
    expect(frames).toEqual([
      { opcode: Opcode.BINARY, payload: new Uint8Array(0), frameFinished: true, messageFinished: true },
      { opcode: Opcode.TEXT, payload: "", frameFinished: true, messageFinished: false },
      { opcode: Opcode.TEXT, payload: "", frameFinished: true, messageFinished: true },
      { opcode: Opcode.TEXT, payload: "", frameFinished: true, messageFinished: true },
    ]);
  });
});

describe("FrameDecoder: close frames (RFC 6455 §5.5.1)", () => {
  const close = (payload: Uint8Array): Array<[string, FrameDecoderOptions, Uint8Array]> => bothDirections({ opcode: Opcode.CLOSE, payload });

  for (const [side, options, bytes] of close(new Uint8Array(0))) {
    it(`reads an empty close body as 1005 (${side})`, () => {
      expect(decodeAll(options, [bytes])[0]!.payload).toEqual({ code: 1005, reason: "" });
    });
  }
  for (const [side, options, bytes] of close(concatBytes(hex("03 e8"), textBytes("bye ✓")))) {
    it(`reads a code and a UTF-8 reason (${side})`, () => {
      expect(decodeAll(options, [bytes])[0]!.payload).toEqual({ code: 1000, reason: "bye ✓" });
    });
  }
  for (const [side, options, bytes] of close(hex("03"))) {
    it(`fails 1002 on a 1-byte close body (${side})`, () => {
      expectFailure(options, [bytes], 1002, "close frame body of 1 byte: a body starts with a 2-byte status code (RFC 6455 §5.5.1)");
    });
  }
  for (const [side, options, bytes] of close(hex("03 ed"))) {
    it(`fails 1002 on close code 1005 on the wire (${side})`, () => {
      expectFailure(options, [bytes], 1002, "close status code 1005 is not allowed on the wire (RFC 6455 §7.4)");
    });
  }
  for (const [side, options, bytes] of close(hex("03 e8 c3 28"))) {
    it(`fails 1007 on a reason that is not UTF-8 (${side})`, () => {
      expectFailure(options, [bytes], 1007, "close reason is not valid UTF-8 (RFC 6455 §8.1)");
    });
  }

  it("delivers a close frame whose body arrives in several chunks only once it is whole", () => {
    const bytes = buildFrame({ opcode: Opcode.CLOSE, payload: concatBytes(hex("0f a0"), textBytes("going")), maskKey: KEY });
    const decoder = new FrameDecoder(SERVER);
    for (let i = 0; i < bytes.length - 1; i++) {
      decoder.receiveBytes(bytes.slice(i, i + 1));
      expect(decoder.nextFrame()).toBeNull();
    }
    decoder.receiveBytes(bytes.slice(bytes.length - 1));
    expect(decoder.nextFrame()!.payload).toEqual({ code: 4000, reason: "going" });
  });
});

describe("FrameDecoder: text (RFC 6455 §5.6, §8.1)", () => {
  for (const [side, options, bytes] of bothDirections({ opcode: Opcode.TEXT, payload: hex("48 c3 28") })) {
    it(`fails 1007 on invalid UTF-8 (${side})`, () => {
      expectFailure(options, [bytes], 1007, "text message is not valid UTF-8 (RFC 6455 §8.1)");
    });
  }

  for (const [side, options, bytes] of bothDirections({ opcode: Opcode.TEXT, payload: hex("48 e2 82") })) {
    it(`fails 1007 on a message ending inside a code point (${side})`, () => {
      expectFailure(options, [bytes], 1007, "text message is not valid UTF-8 (RFC 6455 §8.1)");
    });
  }

  it("fails 1007 on a fragmented message ending inside a code point", () => {
    const bytes = concatBytes(
      buildFrame({ opcode: Opcode.TEXT, fin: false, payload: hex("41 f0 9f") }),
      buildFrame({ opcode: Opcode.CONTINUATION, payload: hex("98") }),
    );
    expectFailure(CLIENT, [bytes], 1007, /not valid UTF-8/);
  });

  it("fails 1007 as soon as the invalid byte arrives, before the frame is complete", () => {
    const payload = concatBytes(new Uint8Array(30_000).fill(0x61), hex("e0 80"), new Uint8Array(30_000).fill(0x61));
    const bytes = buildFrame({ opcode: Opcode.TEXT, payload });
    const decoder = new FrameDecoder(CLIENT);
    decoder.receiveBytes(bytes.slice(0, 20_000));
    expect(decoder.nextFrame()).toMatchObject({ frameFinished: false });
    decoder.receiveBytes(bytes.slice(20_000, 30_012));
    expect(() => decoder.nextFrame()).toThrow(expect.objectContaining({ code: 1007 }));
  });

  it("fails 1007 as soon as an invalid continuation arrives in the next fragment", () => {
    const decoder = new FrameDecoder(CLIENT);
    decoder.receiveBytes(buildFrame({ opcode: Opcode.TEXT, fin: false, payload: hex("41 e2") }));
    expect(decoder.nextFrame()).toEqual({ opcode: Opcode.TEXT, payload: "A", frameFinished: true, messageFinished: false });
    // 0x41 cannot continue E2: the next fragment is not final, yet the failure is immediate.
    decoder.receiveBytes(buildFrame({ opcode: Opcode.CONTINUATION, fin: false, payload: hex("41") }));
    expect(() => decoder.nextFrame()).toThrow(expect.objectContaining({ code: 1007 }));
  });

  it("joins code points split across fragments and across chunks", () => {
    const text = "a€😀é";
    const utf8 = textBytes(text);
    for (let cut = 0; cut <= utf8.length; cut++) {
      const bytes = concatBytes(
        buildFrame({ opcode: Opcode.TEXT, fin: false, payload: utf8.slice(0, cut), maskKey: KEY }),
        buildFrame({ opcode: Opcode.CONTINUATION, payload: utf8.slice(cut), maskKey: KEY }),
      );
      for (let split = 1; split < bytes.length; split++) {
        const frames = decodeAll(SERVER, splitAt(bytes, [split]));
        expect(frames.map((frame) => frame.payload).join("")).toBe(text);
        expect(frames.filter((frame) => frame.frameFinished)).toHaveLength(2);
        expect(frames.at(-1)!.messageFinished).toBe(true);
      }
    }
  });

  it("keeps a leading byte order mark (it is payload, not a signature)", () => {
    expect(decodeAll(CLIENT, [buildFrame({ opcode: Opcode.TEXT, payload: hex("ef bb bf 41") })])[0]!.payload).toBe("\ufeffA");
  });
});

describe("FrameDecoder: incremental delivery", () => {
  it("hands out a 16 MiB frame as its 64 KiB chunks arrive, without copying", () => {
    const size = 16 * 1024 * 1024;
    const payload = new Uint8Array(size);
    for (let i = 0; i < size; i += 4096) payload[i] = (i >>> 12) & 0xff;
    const bytes = buildFrame({ opcode: Opcode.BINARY, payload, maskKey: KEY });
    const decoder = new FrameDecoder(SERVER);
    let received = 0;
    let pieces = 0;
    for (let at = 0; at < bytes.length; at += 65536) {
      const chunk = bytes.subarray(at, Math.min(at + 65536, bytes.length));
      decoder.receiveBytes(chunk);
      const frame = decoder.nextFrame();
      expect(frame).not.toBeNull();
      const piece = frame!.payload as Uint8Array;
      expect(piece.buffer).toBe(bytes.buffer);
      for (let i = 0; i < piece.length; i += 4096) {
        expect(piece[i]).toBe(payload[received + i]);
      }
      received += piece.length;
      pieces++;
      expect(frame!.frameFinished).toBe(received === size);
      expect(decoder.nextFrame()).toBeNull();
    }
    expect(received).toBe(size);
    expect(pieces).toBe(Math.ceil(bytes.length / 65536));
  });

  it("never yields an empty piece in the middle of a frame", () => {
    // One byte of a 3-byte code point per chunk: the first two decode to nothing.
    const bytes = buildFrame({ opcode: Opcode.TEXT, payload: concatBytes(new Uint8Array(20_000).fill(0x61), textBytes("€")) });
    const decoder = new FrameDecoder(CLIENT);
    decoder.receiveBytes(bytes.slice(0, bytes.length - 3));
    expect(decoder.nextFrame()).toMatchObject({ frameFinished: false });
    decoder.receiveBytes(bytes.slice(bytes.length - 3, bytes.length - 2));
    expect(decoder.nextFrame()).toBeNull();
    decoder.receiveBytes(bytes.slice(bytes.length - 2, bytes.length - 1));
    expect(decoder.nextFrame()).toBeNull();
    decoder.receiveBytes(bytes.slice(bytes.length - 1));
    expect(decoder.nextFrame()).toEqual({ opcode: Opcode.TEXT, payload: "€", frameFinished: true, messageFinished: true });
  });

  it("gathers a small frame split across chunks into one piece once it has fully arrived", () => {
    const bytes = buildFrame({ opcode: Opcode.BINARY, payload: textBytes("hello world"), maskKey: KEY });
    const decoder = new FrameDecoder(SERVER);
    for (const chunk of splitAt(bytes, [3, 9, 12])) decoder.receiveBytes(chunk);
    expect(decoder.nextFrame()).toEqual({ opcode: Opcode.BINARY, payload: textBytes("hello world"), frameFinished: true, messageFinished: true });
  });

  it("reads a header split at every byte", () => {
    const payload = new Uint8Array(70_000).fill(0x5a);
    const bytes = buildFrame({ opcode: Opcode.BINARY, payload, maskKey: KEY });
    for (let cut = 1; cut < 14; cut++) {
      const decoder = new FrameDecoder(SERVER);
      decoder.receiveBytes(bytes.slice(0, cut));
      expect(decoder.nextFrame()).toBeNull();
      decoder.receiveBytes(bytes.slice(cut));
      expectSameBytes(decoder.nextFrame()!.payload, payload);
    }
  });

  it("hands over unconsumed bytes", () => {
    const decoder = new FrameDecoder(CLIENT);
    decoder.receiveBytes(concatBytes(hex("88 02 03 e8"), textBytes("GET")));
    expect(decoder.nextFrame()!.payload).toEqual({ code: 1000, reason: "" });
    expect(decoder.bufferedAmount).toBe(3);
    expect(concatBytes(...decoder.takeUnconsumed())).toEqual(textBytes("GET"));
    expect(decoder.bufferedAmount).toBe(0);
    expect(decoder.nextFrame()).toBeNull();
  });

  it("copies small chunks that arrive while bytes wait, and only those", () => {
    // 4 KiB binary frame: header, then 1,000 bytes (waits for nothing: handed out as a view),
    // a 10-byte dribble while 2 bytes of a split piece wait (copied), and 2 KiB chunks (views).
    const payload = new Uint8Array(4096);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 31) & 0xff;
    const bytes = buildFrame({ opcode: Opcode.BINARY, payload, maskKey: KEY });
    const decoder = new FrameDecoder(SERVER);
    const header = bytes.slice(0, 8);
    decoder.receiveBytes(header);
    expect(decoder.nextFrame()).toBeNull(); // a header alone: no piece yet
    const first = bytes.slice(8, 1008);
    decoder.receiveBytes(first); // 8 header bytes were consumed: nothing waits, so kept as is
    const firstPiece = decoder.nextFrame()!.payload as Uint8Array;
    expect(firstPiece.buffer).toBe(first.buffer);
    expectSameBytes(firstPiece, payload.subarray(0, 1000));
    // Two small chunks in a row: the second arrives while the first waits, and is copied.
    const a = bytes.slice(1008, 1010);
    const b = bytes.slice(1010, 1020);
    const bPristine = b.slice();
    decoder.receiveBytes(a);
    decoder.receiveBytes(b);
    expect(decoder.bufferedAmount).toBe(12);
    const pieceA = decoder.nextFrame()!.payload as Uint8Array;
    expectSameBytes(pieceA, payload.subarray(1000, 1002));
    const pieceB = decoder.nextFrame()!.payload as Uint8Array;
    expect(pieceB.buffer).not.toBe(b.buffer);
    expectSameBytes(pieceB, payload.subarray(1002, 1012));
    expect(b).toEqual(bPristine); // a copied chunk is not unmasked in place
    // Larger chunks are never copied, even while bytes wait.
    const c = bytes.slice(1020, 1021);
    const d = bytes.slice(1021, 1021 + 2048);
    decoder.receiveBytes(c);
    decoder.receiveBytes(d);
    expectSameBytes(decoder.nextFrame()!.payload, payload.subarray(1012, 1013));
    const pieceD = decoder.nextFrame()!.payload as Uint8Array;
    expect(pieceD.buffer).toBe(d.buffer);
    expectSameBytes(pieceD, payload.subarray(1013, 1013 + 2048));
    decoder.receiveBytes(bytes.slice(1021 + 2048));
    const last = decoder.nextFrame()!;
    expectSameBytes(last.payload, payload.subarray(1013 + 2048));
    expect(last.frameFinished).toBe(true);
    expect(decoder.bufferedAmount).toBe(0);
  });

  it("a frame trickled a byte at a time comes out whole and right, in both modes", () => {
    const payload = new Uint8Array(40_000);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 7 + 3) & 0xff;
    for (const assembleMessages of [false, true]) {
      for (const [, options, bytes] of bothDirections({ opcode: Opcode.BINARY, payload })) {
        const decoder = new FrameDecoder({ ...options, assembleMessages });
        const pieces: Uint8Array[] = [];
        // All but the last byte before reading: every chunk after the first waits.
        for (let i = 0; i < bytes.length - 1; i++) decoder.receiveBytes(bytes.slice(i, i + 1));
        decoder.receiveBytes(bytes.slice(-1));
        for (let frame = decoder.nextFrame(); frame !== null; frame = decoder.nextFrame()) pieces.push(frame.payload as Uint8Array);
        if (assembleMessages) expect(pieces.length).toBe(1);
        expectSameBytes(concatBytes(...pieces), payload);
        expect(decoder.bufferedAmount).toBe(0);
      }
    }
  });

  it("reports a message in progress between fragments", () => {
    const decoder = new FrameDecoder(CLIENT);
    decoder.receiveBytes(hex("01 01 61"));
    decoder.nextFrame();
    expect(decoder.messageInProgress).toBe(true);
    decoder.receiveBytes(hex("80 01 62"));
    decoder.nextFrame();
    expect(decoder.messageInProgress).toBe(false);
  });
});

describe("FrameDecoder: after a failure", () => {
  it("throws the same ParseFailed from every later call", () => {
    const decoder = new FrameDecoder(SERVER);
    decoder.receiveBytes(hex("81 05 48 65 6c 6c 6f"));
    let first: unknown;
    try {
      decoder.nextFrame();
    } catch (error) {
      first = error;
    }
    expect(first).toBeInstanceOf(ParseFailed);
    expect(decoder.failure).toBe(first);
    expect(() => decoder.nextFrame()).toThrow(first as Error);
    expect(() => decoder.receiveBytes(hex("81 80 00 00 00 00"))).toThrow(first as Error);
    try {
      decoder.nextFrame();
    } catch (error) {
      expect(error).toBe(first);
    }
  });
});

describe("FrameDecoder: maxMessageSize", () => {
  it("fails 1009 from the header alone when a frame announces more than the limit", () => {
    const decoder = new FrameDecoder({ ...CLIENT, maxMessageSize: 1000 });
    decoder.receiveBytes(hex("82 7e 03 e9"));
    expect(() => decoder.nextFrame()).toThrow(
      expect.objectContaining({ code: 1009, message: "message larger than maxMessageSize (1000 bytes) (RFC 6455 §10.4)" }),
    );
  });

  it("counts across fragments", () => {
    const bytes = concatBytes(
      buildFrame({ opcode: Opcode.BINARY, fin: false, payload: new Uint8Array(600), maskKey: KEY }),
      buildFrame({ opcode: Opcode.PING, maskKey: KEY }),
      buildFrame({ opcode: Opcode.CONTINUATION, fin: false, payload: new Uint8Array(400), maskKey: KEY }),
      buildFrame({ opcode: Opcode.CONTINUATION, payload: new Uint8Array(1), maskKey: KEY }),
    );
    const options = { ...SERVER, maxMessageSize: 1000 };
    const decoder = new FrameDecoder(options);
    decoder.receiveBytes(bytes);
    expect(decoder.nextFrame()).toMatchObject({ frameFinished: true, messageFinished: false });
    expect(decoder.nextFrame()).toMatchObject({ opcode: Opcode.PING });
    expect(decoder.nextFrame()).toMatchObject({ frameFinished: true, messageFinished: false });
    expect(() => decoder.nextFrame()).toThrow(expect.objectContaining({ code: 1009 }));
  });

  it("allows a message of exactly the limit, and restarts the count for the next message", () => {
    const bytes = concatBytes(
      buildFrame({ opcode: Opcode.BINARY, fin: false, payload: new Uint8Array(600) }),
      buildFrame({ opcode: Opcode.CONTINUATION, payload: new Uint8Array(400) }),
      buildFrame({ opcode: Opcode.TEXT, payload: new Uint8Array(1000).fill(0x61) }),
    );
    const frames = decodeAll({ ...CLIENT, maxMessageSize: 1000 }, [bytes]);
    expect(frames.filter((frame) => frame.messageFinished)).toHaveLength(2);
  });
});

/** A stand-in for an extension like permessage-deflate: claims RSV1, doubles every payload byte. */
class DoublingExtension implements Extension {
  readonly name = "x-doubling";
  readonly rsvBits: RsvBits = { rsv1: true, rsv2: false, rsv3: false };
  readonly calls: string[] = [];
  private transforming = false;
  constructor(private readonly tail: Uint8Array | null = null) {}
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
  frameInboundHeader(opcode: Opcode, rsv: RsvBits, payloadLength: number): RsvBits {
    this.calls.push(`header ${opcode} rsv1=${rsv.rsv1} ${payloadLength}`);
    if (rsv.rsv1 && opcode >= 0x8) throw new ParseFailed("RSV1 on a control frame (RFC 7692 §6.1)");
    if (opcode !== Opcode.CONTINUATION && opcode < 0x8) this.transforming = rsv.rsv1;
    return { rsv1: rsv.rsv1, rsv2: false, rsv3: false };
  }
  frameInboundPayloadData(data: Uint8Array, budget: number): Uint8Array {
    this.calls.push(`data ${data.length} budget=${budget}`);
    if (!this.transforming) return data;
    if (data.length * 2 > budget) throw new ParseFailed("too big", 1009);
    const out = new Uint8Array(data.length * 2);
    data.forEach((byte, i) => {
      out[2 * i] = byte;
      out[2 * i + 1] = byte;
    });
    return out;
  }
  frameInboundComplete(fin: boolean, budget: number): Uint8Array | null {
    this.calls.push(`complete fin=${fin} budget=${budget}`);
    return this.transforming ? this.tail : null;
  }
  frameOutbound(_opcode: Opcode, rsv: RsvBits, data: Uint8Array): { rsv: RsvBits; data: Uint8Array } {
    return { rsv, data };
  }
}

describe("FrameDecoder: extensions", () => {
  it("lets an extension claim RSV1 and transform data frames, and calls its hooks per frame", () => {
    const extension = new DoublingExtension(hex("21"));
    const bytes = concatBytes(
      buildFrame({ opcode: Opcode.TEXT, fin: false, rsv1: true, payload: textBytes("ab") }),
      buildFrame({ opcode: Opcode.PING, payload: hex("01") }),
      buildFrame({ opcode: Opcode.CONTINUATION, payload: textBytes("c") }),
    );
    const frames = decodeAll({ ...CLIENT, maxMessageSize: 100, extensions: [extension] }, [bytes]);
    expect(frames).toEqual([
      { opcode: Opcode.TEXT, payload: "aabb!", frameFinished: true, messageFinished: false },
      { opcode: Opcode.PING, payload: hex("01"), frameFinished: true, messageFinished: true },
      { opcode: Opcode.TEXT, payload: "cc!", frameFinished: true, messageFinished: true },
    ]);
    expect(extension.calls).toEqual([
      "header 1 rsv1=true 2",
      "data 2 budget=100",
      "complete fin=false budget=96",
      "header 9 rsv1=false 1",
      "header 0 rsv1=false 1",
      "data 1 budget=95",
      "complete fin=true budget=93",
    ]);
  });

  it("still refuses RSV bits the extensions do not claim", () => {
    const extension = new DoublingExtension();
    const bytes = buildFrame({ opcode: Opcode.BINARY, rsv2: true, payload: hex("01") });
    const failure = decodeFailure({ ...CLIENT, extensions: [extension] }, [bytes]);
    expect(failure.message).toBe("RSV2 set but no negotiated extension claims it (RFC 6455 §5.2)");
    expect(failure.code).toBe(1002);
  });

  it("passes on a ParseFailed thrown by an extension's header hook", () => {
    const extension = new DoublingExtension();
    const failure = decodeFailure({ ...CLIENT, extensions: [extension] }, [buildFrame({ opcode: Opcode.PING, rsv1: true })]);
    expect(failure.message).toBe("RSV1 on a control frame (RFC 7692 §6.1)");
  });

  it("counts the extension's output against maxMessageSize", () => {
    const extension = new DoublingExtension();
    const bytes = buildFrame({ opcode: Opcode.BINARY, rsv1: true, payload: new Uint8Array(60) });
    expect(decodeFailure({ ...CLIENT, maxMessageSize: 100, extensions: [extension] }, [bytes]).code).toBe(1009);
    expect(decodeAll({ ...CLIENT, maxMessageSize: 120, extensions: [extension] }, [bytes])[0]!.payload).toHaveLength(120);
  });

  it("fails 1009 when an extension returns more than its budget", () => {
    const greedy = new (class extends DoublingExtension {
      override frameInboundPayloadData(): Uint8Array {
        return new Uint8Array(11);
      }
    })();
    const bytes = buildFrame({ opcode: Opcode.BINARY, payload: new Uint8Array(5) });
    expect(decodeFailure({ ...CLIENT, maxMessageSize: 10, extensions: [greedy] }, [bytes]).code).toBe(1009);
  });

  it("reports an extension's unexpected error as ParseFailed 1011 with the error as cause", () => {
    const broken = new Error("zlib exploded");
    const extension = new (class extends DoublingExtension {
      override frameInboundHeader(): RsvBits {
        throw broken;
      }
    })();
    const failure = decodeFailure({ ...CLIENT, extensions: [extension] }, [hex("82 00")]);
    expect(failure.code).toBe(1011);
    expect(failure.cause).toBe(broken);
  });
});

// ---------------------------------------------------------------------------------------------
// Property: any valid frame stream, split anywhere, decodes to the same frames.

type StreamItem =
  | { kind: "control"; opcode: number; payload: Uint8Array }
  | { kind: "fragment"; opcode: number; first: boolean; fin: boolean; payload: Uint8Array };

interface Expected {
  tokens: string[];
}

const controlArbitrary = fc.oneof(
  fc.record({ opcode: fc.constantFrom(Opcode.PING, Opcode.PONG), payload: fc.uint8Array({ maxLength: 125 }) }),
  fc.record({
    opcode: fc.constant(Opcode.CLOSE),
    payload: fc
      .tuple(fc.constantFrom(1000, 1001, 1011, 3000, 4999), fc.string({ unit: "grapheme", maxLength: 20 }))
      .map(([code, reason]) => concatBytes(new Uint8Array([code >> 8, code & 0xff]), textBytes(reason)))
      .filter((payload) => payload.length <= 125),
  }),
);

const payloadArbitrary = fc.oneof(
  { weight: 8, arbitrary: fc.uint8Array({ maxLength: 200 }) },
  { weight: 1, arbitrary: fc.integer({ min: 65_536, max: 70_000 }).map((length) => new Uint8Array(length).map((_, i) => (i * 13) & 0xff)) },
);

const messageArbitrary = fc
  .record({
    text: fc.boolean(),
    // Text is any string; its UTF-8 is cut into fragments at arbitrary bytes, even mid code point.
    string: fc.string({ unit: "binary", maxLength: 120 }),
    binary: payloadArbitrary,
    cuts: fc.array(fc.nat(), { maxLength: 3 }),
    controls: fc.array(fc.option(controlArbitrary, { nil: undefined }), { maxLength: 3 }),
  })
  .map(({ text, string, binary, cuts, controls }) => {
    const bytes = text ? textBytes(string) : binary;
    const offsets = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
    const pieces: Uint8Array[] = [];
    let start = 0;
    for (const offset of offsets) {
      pieces.push(bytes.slice(start, offset));
      start = offset;
    }
    pieces.push(bytes.slice(start));
    const items: StreamItem[] = [];
    pieces.forEach((payload, index) => {
      if (index > 0 && controls[index - 1]) items.push({ kind: "control", ...controls[index - 1]! });
      items.push({
        kind: "fragment",
        opcode: text ? Opcode.TEXT : Opcode.BINARY,
        first: index === 0,
        fin: index === pieces.length - 1,
        payload,
      });
    });
    return items;
  });

const streamArbitrary = fc.array(fc.oneof(messageArbitrary, controlArbitrary.map((control) => [{ kind: "control" as const, ...control }])), {
  minLength: 1,
  maxLength: 6,
}).map((groups) => groups.flat() as StreamItem[]);

function hexOf(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

function expectedTokens(items: StreamItem[]): Expected {
  const tokens: string[] = [];
  let message: Uint8Array[] = [];
  for (const item of items) {
    if (item.kind === "control") {
      tokens.push(`control ${item.opcode} ${hexOf(item.payload)}`);
      continue;
    }
    message.push(item.payload);
    tokens.push(`frame-end ${item.opcode}`);
    if (item.fin) {
      const whole = concatBytes(...message);
      tokens.push(`message ${item.opcode} ${item.opcode === Opcode.TEXT ? JSON.stringify(new TextDecoder().decode(whole)) : hexOf(whole)}`);
      message = [];
    }
  }
  return { tokens };
}

function decodedTokens(frames: Frame[]): string[] {
  const tokens: string[] = [];
  let parts: Array<Uint8Array | string> = [];
  for (const frame of frames) {
    if (frame.opcode >= 0x8) {
      const payload =
        frame.opcode === Opcode.CLOSE
          ? (() => {
              const close = frame.payload as ClosePayload;
              return hexOf(concatBytes(new Uint8Array([close.code >> 8, close.code & 0xff]), textBytes(close.reason)));
            })()
          : hexOf(frame.payload as Uint8Array);
      tokens.push(`control ${frame.opcode} ${payload}`);
      continue;
    }
    parts.push(frame.payload as Uint8Array | string);
    if (frame.frameFinished) tokens.push(`frame-end ${frame.opcode}`);
    if (frame.messageFinished) {
      tokens.push(
        `message ${frame.opcode} ${frame.opcode === Opcode.TEXT ? JSON.stringify(parts.join("")) : hexOf(concatBytes(...(parts as Uint8Array[])))}`,
      );
      parts = [];
    }
  }
  return tokens;
}

function wireBytes(items: StreamItem[], masked: boolean, keys: Uint8Array[]): Uint8Array {
  return concatBytes(
    ...items.map((item, index) => {
      const maskKey = masked ? keys[index % keys.length] : undefined;
      return item.kind === "control"
        ? buildFrame({ opcode: item.opcode, payload: item.payload, maskKey })
        : buildFrame({ opcode: item.first ? item.opcode : Opcode.CONTINUATION, fin: item.fin, payload: item.payload, maskKey });
    }),
  );
}

describe("FrameDecoder: property", () => {
  it("decodes any valid frame stream split at any points to the same frames", () => {
    fc.assert(
      fc.property(
        streamArbitrary,
        fc.boolean(),
        fc.array(fc.uint8Array({ minLength: 4, maxLength: 4 }), { minLength: 1, maxLength: 3 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        (items, client, keys, cuts) => {
          const bytes = wireBytes(items, !client, keys);
          const options = client ? CLIENT : SERVER;
          const expected = expectedTokens(items).tokens;
          const whole = decodeAll(options, [bytes]);
          expect(decodedTokens(whole)).toEqual(expected);
          const chunks = splitAt(bytes, cuts.map((cut) => cut % (bytes.length + 1)));
          const split = decodeAll(options, chunks);
          expect(decodedTokens(split)).toEqual(expected);
          // Pieces are never empty except for frame ends.
          for (const frame of split) {
            if (!frame.frameFinished) expect((frame.payload as Uint8Array | string).length).toBeGreaterThan(0);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("decodes byte-at-a-time delivery like whole delivery", () => {
    fc.assert(
      fc.property(streamArbitrary, fc.boolean(), (items, client) => {
        const small = items.filter((item) => item.payload.length <= 300);
        fc.pre(small.length === items.length);
        const bytes = wireBytes(items, !client, [KEY]);
        const chunks = Array.from({ length: bytes.length }, (_, i) => bytes.slice(i, i + 1));
        expect(decodedTokens(decodeAll(client ? CLIENT : SERVER, chunks))).toEqual(expectedTokens(items).tokens);
      }),
      { numRuns: 100 },
    );
  });
});

describe("FrameDecoder: assembleMessages", () => {
  const assembled = (options: FrameDecoderOptions): FrameDecoderOptions => ({ ...options, assembleMessages: true });
  /** The tokens of whole delivery: controls and messages, no frame ends (frames are not seen). */
  const messageTokens = (items: StreamItem[]): string[] => expectedTokens(items).tokens.filter((token) => !token.startsWith("frame-end"));

  /*
   * With a plugged allocator arrays come uninitialised: an allocator that fills them with 0xa5
   * shows any byte the decoder forgot to write.
   */
  function withGarbageAllocator(run: () => void): void {
    setByteAllocator((length) => new Uint8Array(length).fill(0xa5));
    try {
      run();
    } finally {
      setByteAllocator(null);
    }
  }

  it("delivers any valid frame stream, split at any points, as one frame per message", () => {
    withGarbageAllocator(() =>
      fc.assert(
        fc.property(
          streamArbitrary,
          fc.boolean(),
          fc.array(fc.uint8Array({ minLength: 4, maxLength: 4 }), { minLength: 1, maxLength: 3 }),
          fc.array(fc.nat(), { maxLength: 12 }),
          (items, client, keys, cuts) => {
            const bytes = wireBytes(items, !client, keys);
            const options = assembled(client ? CLIENT : SERVER);
            const expected = messageTokens(items);
            for (const chunks of [[bytes], splitAt(bytes, cuts.map((cut) => cut % (bytes.length + 1)))]) {
              const frames = decodeAll(options, chunks);
              expect(decodedTokens(frames).filter((token) => !token.startsWith("frame-end"))).toEqual(expected);
              for (const frame of frames) {
                expect(frame.frameFinished).toBe(true);
                expect(frame.messageFinished).toBe(true);
              }
            }
          },
        ),
        { numRuns: 300 },
      ),
    );
  });

  it("decodes byte-at-a-time delivery like whole delivery", () => {
    fc.assert(
      fc.property(streamArbitrary, fc.boolean(), (items, client) => {
        fc.pre(items.every((item) => item.payload.length <= 300));
        const bytes = wireBytes(items, !client, [KEY]);
        const chunks = Array.from({ length: bytes.length }, (_, i) => bytes.slice(i, i + 1));
        const frames = decodeAll(assembled(client ? CLIENT : SERVER), chunks);
        expect(decodedTokens(frames).filter((token) => !token.startsWith("frame-end"))).toEqual(messageTokens(items));
      }),
      { numRuns: 100 },
    );
  });

  it("unmasks a frame spanning chunks into one new array, leaving the received chunks as they were", () => {
    const payload = new Uint8Array(100_000).map((_, i) => (i * 7) & 0xff);
    const wire = buildFrame({ opcode: Opcode.BINARY, payload, maskKey: KEY });
    const chunks = splitAt(wire, [1, 9, 40_000, 65_536]);
    const copies = chunks.map((chunk) => chunk.slice());
    const decoder = new FrameDecoder(assembled(SERVER));
    for (const chunk of chunks) {
      decoder.receiveBytes(chunk);
      if (chunk !== chunks[chunks.length - 1]) expect(decoder.nextFrame()).toBeNull();
    }
    const frame = decoder.nextFrame()!;
    expectSameBytes(frame.payload as Uint8Array, payload);
    expect(decoder.nextFrame()).toBeNull();
    chunks.forEach((chunk, index) => expectSameBytes(chunk, copies[index]!));
  });

  it("refuses a message over maxMessageSize from its headers, before holding its bytes (1009)", () => {
    const first = buildFrame({ opcode: Opcode.BINARY, fin: false, payload: new Uint8Array(600), maskKey: KEY });
    const second = buildFrame({ opcode: Opcode.CONTINUATION, payload: new Uint8Array(600), maskKey: KEY });
    const decoder = new FrameDecoder({ ...assembled(SERVER), maxMessageSize: 1000 });
    decoder.receiveBytes(first);
    expect(decoder.nextFrame()).toBeNull();
    decoder.receiveBytes(second.subarray(0, 8));
    expect(() => decoder.nextFrame()).toThrow(expect.objectContaining({ code: 1009 }));
  });

  it("fails invalid UTF-8 in an assembled text message with 1007, however it is chunked", () => {
    const wire = concatBytes(
      buildFrame({ opcode: Opcode.TEXT, fin: false, payload: textBytes("héllo"), maskKey: KEY }),
      buildFrame({ opcode: Opcode.CONTINUATION, payload: hex("ff 41"), maskKey: KEY }),
    );
    for (const cuts of [[], [3], [7, 12, 15]]) {
      expect(decodeFailure(assembled(SERVER), splitAt(wire, cuts)).code).toBe(1007);
    }
  });

  it("lets control frames through between the fragments of an assembled message", () => {
    const wire = concatBytes(
      buildFrame({ opcode: Opcode.BINARY, fin: false, payload: hex("01 02"), maskKey: KEY }),
      buildFrame({ opcode: Opcode.PING, payload: hex("aa"), maskKey: KEY }),
      buildFrame({ opcode: Opcode.CONTINUATION, payload: hex("03"), maskKey: KEY }),
    );
    const frames = decodeAll(assembled(SERVER), [wire]);
    expect(frames.map((frame) => frame.opcode)).toEqual([Opcode.PING, Opcode.BINARY]);
    expectSameBytes(frames[1]!.payload as Uint8Array, hex("01 02 03"));
  });
});
