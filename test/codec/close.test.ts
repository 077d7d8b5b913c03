import { describe, expect, it } from "vitest";
import { buildClosePayload, fitCloseReason, isValidCloseCode, MAX_CLOSE_REASON_BYTES, parseClosePayload } from "../../codec/close.js";
import { ParseFailed } from "../../codec/frame.js";
import { LocalProtocolError } from "../../codec/errors.js";
import { hex } from "./frame-helpers.js";

const VALID = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999];
const INVALID = [0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535];

function codeBytes(code: number): Uint8Array {
  return new Uint8Array([code >> 8, code & 0xff]);
}

describe("isValidCloseCode (RFC 6455 §7.4)", () => {
  it("accepts 1000–1003, 1007–1014 and 3000–4999 only", () => {
    for (const code of VALID) expect(isValidCloseCode(code)).toBe(true);
    for (const code of INVALID) expect(isValidCloseCode(code)).toBe(false);
  });
});

describe("parseClosePayload", () => {
  it("reads an empty body as 1005 with no reason", () => {
    expect(parseClosePayload(new Uint8Array(0))).toEqual({ code: 1005, reason: "" });
  });

  it("fails 1002 on a 1-byte body", () => {
    expect(() => parseClosePayload(hex("03"))).toThrow(
      expect.objectContaining({ code: 1002, message: "close frame body of 1 byte: a body starts with a 2-byte status code (RFC 6455 §5.5.1)" }),
    );
  });

  it("accepts every valid code and fails 1002 on every invalid one", () => {
    for (const code of VALID) expect(parseClosePayload(codeBytes(code))).toEqual({ code, reason: "" });
    for (const code of INVALID) {
      let failure: unknown;
      try {
        parseClosePayload(codeBytes(code));
      } catch (error) {
        failure = error;
      }
      expect(failure).toBeInstanceOf(ParseFailed);
      expect(failure).toMatchObject({ code: 1002, message: `close status code ${code} is not allowed on the wire (RFC 6455 §7.4)` });
    }
  });

  it("decodes the reason as UTF-8, failing 1007 when it is not", () => {
    expect(parseClosePayload(hex("0f a0 c3 a9 74 c3 a9"))).toEqual({ code: 4000, reason: "été" });
    expect(() => parseClosePayload(hex("03 e8 ff"))).toThrow(expect.objectContaining({ code: 1007 }));
    expect(() => parseClosePayload(hex("03 e8 e2 82"))).toThrow(expect.objectContaining({ code: 1007 }));
  });
});

describe("buildClosePayload", () => {
  it("builds an empty body without a code, and code + reason otherwise", () => {
    expect(buildClosePayload()).toEqual(new Uint8Array(0));
    expect(buildClosePayload(1000)).toEqual(hex("03 e8"));
    expect(buildClosePayload(4321, "ok")).toEqual(hex("10 e1 6f 6b"));
  });

  it("round-trips through parseClosePayload", () => {
    for (const code of VALID) {
      expect(parseClosePayload(buildClosePayload(code, "reason ✓"))).toEqual({ code, reason: "reason ✓" });
    }
  });

  it("sends a reason of up to 123 bytes and refuses a longer one instead of cutting it", () => {
    expect(buildClosePayload(1000, "x".repeat(123)).length).toBe(2 + MAX_CLOSE_REASON_BYTES);
    expect(() => buildClosePayload(1000, "x".repeat(124))).toThrow(
      "close reason is 124 bytes of UTF-8, more than the 123 a close frame carries (RFC 6455 §5.5",
    );
    // 31 four-byte emoji are 124 bytes though only 62 UTF-16 units.
    expect(() => buildClosePayload(1000, "😀".repeat(31))).toThrow(LocalProtocolError);
  });

  it("fitCloseReason cuts a reason to 123 bytes without splitting a code point", () => {
    expect(fitCloseReason("short")).toBe("short");
    expect(fitCloseReason("x".repeat(200))).toBe("x".repeat(123));
    // 30 four-byte emoji take 120 bytes; a 31st would need 124.
    expect(fitCloseReason("😀".repeat(40))).toBe("😀".repeat(30));
    expect(buildClosePayload(1000, fitCloseReason("é".repeat(100))).length).toBe(2 + 122);
  });

  it("says a code that is not a number is not a number (plain JS)", () => {
    expect(() => buildClosePayload("1000" as unknown as number)).toThrow(
      'close status code must be a number, not the string "1000": e.g. new CloseConnection({ code: 1000 }) (RFC 6455 §7.4)',
    );
  });

  it("refuses codes the RFC forbids on the wire, non-integers, and a reason without a code", () => {
    for (const code of [...INVALID, 1000.5, Number.NaN]) {
      expect(() => buildClosePayload(code)).toThrow(LocalProtocolError);
    }
    expect(() => buildClosePayload(1006)).toThrow(
      "close status code 1006 may not be sent: use 1000–1003, 1007–1014 or 3000–4999 (RFC 6455 §7.4)",
    );
    expect(() => buildClosePayload(undefined, "why")).toThrow(LocalProtocolError);
  });
});
