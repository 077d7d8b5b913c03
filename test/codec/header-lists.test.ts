import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  combinedList,
  extensionName,
  hasToken,
  isExtensionElement,
  isFieldContent,
  isFieldValue,
  isToken,
  splitList,
  toLowerAscii,
  trimOWS,
} from "../../codec/header-lists.js";

describe("isToken", () => {
  it.each(["websocket", "chat.v2", "!#$%&'*+-.^_`|~09azAZ", "x"])("accepts %j", (s) => {
    expect(isToken(s)).toBe(true);
  });
  it.each(["", "a b", "a,b", "a;b", 'a"b', "a\tb", "é", "a\u0100", "a\r\nb", "(x)", "a/b", "a=b", "a:b"])(
    "refuses %j",
    (s) => {
      expect(isToken(s)).toBe(false);
    },
  );
});

describe("field values", () => {
  it("accepts visible chars, inner whitespace and obs-text", () => {
    expect(isFieldValue("")).toBe(true);
    expect(isFieldValue("a b\tc")).toBe(true);
    expect(isFieldValue("caf\u00e9 \u00ff\u0080")).toBe(true);
  });
  it("refuses CR, LF, NUL, controls, chars above U+00FF and surrounding whitespace", () => {
    for (const s of ["a\r\nb", "a\nb", "a\rb", "a\0b", "a\u007fb", "a\u0001", "\u0100", "\u20ac", " a", "a ", "\ta"]) {
      expect(isFieldValue(s), JSON.stringify(s)).toBe(false);
    }
    expect(isFieldContent(" a ")).toBe(true);
    expect(isFieldContent("a\rb")).toBe(false);
  });
  it("trimOWS strips only SP and HTAB", () => {
    expect(trimOWS(" \t a b \t")).toBe("a b");
    expect(trimOWS("\u00a0a")).toBe("\u00a0a");
    expect(trimOWS("   ")).toBe("");
  });
  it("toLowerAscii maps only A-Z", () => {
    expect(toLowerAscii("Sec-WebSocket-Key")).toBe("sec-websocket-key");
    expect(toLowerAscii("already")).toBe("already");
    expect(toLowerAscii("\u00c9A\u212a")).toBe("\u00c9a\u212a"); // no Unicode case mapping (K sign stays)
  });
});

describe("splitList (RFC 9110 §5.6.1)", () => {
  it("splits on commas and trims each element", () => {
    expect(splitList("a, b ,\tc")).toEqual(["a", "b", "c"]);
  });
  it("drops empty elements (README, Differences from wsproto #14)", () => {
    expect(splitList(",a,, ,b,")).toEqual(["a", "b"]);
    expect(splitList("")).toEqual([]);
    expect(splitList(" , ")).toEqual([]);
  });
  it("does not split inside quoted strings (README, Differences from wsproto #10)", () => {
    expect(splitList('foo; x="a,b", bar')).toEqual(['foo; x="a,b"', "bar"]);
    expect(splitList('x; y="q\\"uote,d", z')).toEqual(['x; y="q\\"uote,d"', "z"]);
    expect(splitList('a="\\\\", b')).toEqual(['a="\\\\"', "b"]);
  });
  it("returns null on an unterminated quoted string", () => {
    expect(splitList('a, "b, c')).toBeNull();
    expect(splitList('a="\\"')).toBeNull();
  });
  it("round-trips lists of tokens joined in any style", () => {
    const token = fc.stringMatching(/^[a-zA-Z0-9!#$%&'*+.^_`|~-]{1,8}$/);
    const ows = fc.constantFrom("", " ", "\t", "  ");
    fc.assert(
      fc.property(fc.array(fc.tuple(token, ows, ows, fc.boolean())), (items) => {
        const value = items.map(([t, a, b, empty]) => (empty ? `${a},${b}` : "") + a + t + b).join(",");
        expect(splitList(value)).toEqual(items.map(([t]) => t));
      }),
    );
  });
  it("is linear on adversarial input", () => {
    const big = '"'.repeat(100_001) + ",".repeat(100_000);
    const t = performance.now();
    splitList(big);
    isExtensionElement("a;" + "b=".repeat(100_000));
    expect(performance.now() - t).toBeLessThan(1000);
  });
});

describe("combinedList / hasToken", () => {
  it("combines repeated fields, case-insensitive names (RFC 9110 §5.3)", () => {
    const headers: Array<[string, string]> = [
      ["Connection", "keep-alive"],
      ["x", "y"],
      ["connection", "Upgrade, , foo"],
    ];
    expect(combinedList(headers, "connection")).toEqual(["keep-alive", "Upgrade", "foo"]);
    expect(combinedList(headers, "upgrade")).toEqual([]);
    expect(combinedList([["a", '"x']], "a")).toBeNull();
  });
  it("matches tokens case-insensitively, whole elements only", () => {
    expect(hasToken(["keep-alive", "UpGrade"], "upgrade")).toBe(true);
    expect(hasToken(["upgrades"], "upgrade")).toBe(false);
    expect(hasToken(["websocket/13"], "websocket")).toBe(false);
  });
});

describe("extension elements (RFC 6455 §9.1)", () => {
  it.each([
    "permessage-deflate",
    "permessage-deflate; client_max_window_bits",
    "permessage-deflate;client_max_window_bits=10; server_no_context_takeover",
    'permessage-deflate; client_max_window_bits="10"',
    'x; a = "b,c;d" ; e',
    "  x  ;  a  ",
  ])("accepts %j", (e) => {
    expect(isExtensionElement(e)).toBe(true);
  });
  it.each(["", ";a", "x;", "x; a=", 'x; a="b', "x a", "x; a b", "x; =b", "x;; a", 'x; a="\u0100"', "x; a=b=c"])(
    "refuses %j",
    (e) => {
      expect(isExtensionElement(e)).toBe(false);
    },
  );
  it("extensionName is the token before ';', trimmed", () => {
    expect(extensionName(" permessage-deflate ; x=1")).toBe("permessage-deflate");
    expect(extensionName("foo")).toBe("foo");
  });
});
