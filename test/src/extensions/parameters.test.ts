import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatParameters, isToken, parseExtensionElement } from "../../../src/extensions/parameters.js";

function params(element: string): Record<string, string | null> | string {
  const parsed = parseExtensionElement(element);
  return parsed.ok ? Object.fromEntries(parsed.params) : `error: ${parsed.error}`;
}

describe("parseExtensionElement (RFC 6455 §9.1)", () => {
  it.each<[string, Record<string, string | null>]>([
    ["permessage-deflate", {}],
    ["  permessage-deflate  ", {}],
    ["permessage-deflate; client_max_window_bits", { client_max_window_bits: null }],
    ["permessage-deflate;client_max_window_bits=10", { client_max_window_bits: "10" }],
    ["permessage-deflate ; client_max_window_bits = 10 ", { client_max_window_bits: "10" }],
    ["permessage-deflate;\tserver_no_context_takeover;\tclient_no_context_takeover", { server_no_context_takeover: null, client_no_context_takeover: null }],
    ['permessage-deflate; client_max_window_bits="10"', { client_max_window_bits: "10" }],
    ['permessage-deflate; x="a\\bc"', { x: "abc" }],
    ['permessage-deflate; x = "tok"; y=z', { x: "tok", y: "z" }],
    ["permessage-deflate; Client_Max_Window_Bits=9", { client_max_window_bits: "9" }],
  ])("%s", (element, expected) => {
    expect(params(element)).toEqual(expected);
  });

  it("keeps the extension name as written", () => {
    const parsed = parseExtensionElement("PerMessage-Deflate; a=1");
    expect(parsed.ok && parsed.name).toBe("PerMessage-Deflate");
  });

  it.each([
    ["", "name is missing"],
    ["; a", "name is missing"],
    ["permessage-deflate;", "empty parameter"],
    ["permessage-deflate; ; a", "parameter name is missing"],
    ["permessage-deflate; a=", 'has "=" but no value'],
    ["permessage-deflate; a=1=2", "unexpected character"],
    ["permessage-deflate; a b", "unexpected character"],
    ["permessage deflate", "unexpected character"],
    ['permessage-deflate; a="10', "unterminated"],
    ['permessage-deflate; a="1 0"', "not a token"],
    ['permessage-deflate; a=""', "not a token"],
    ['permessage-deflate; a="x\\', "invalid escape"],
    ["permessage-deflate; a=1; a=2", 'duplicate parameter "a"'],
    ["permessage-deflate; a; A", 'duplicate parameter "a"'],
    ["permessage-deflate; a=1, b", "unexpected character"],
    ["permessage-deflate; a=é", "no value"],
  ])("rejects %j (%s)", (element, message) => {
    const parsed = parseExtensionElement(element);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toContain(message);
  });

  it("never throws, on any string", () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(..."ab=;\" \t\\,é1") }), (s) => {
        parseExtensionElement(s);
      }),
      { numRuns: 2000 },
    );
  });

  it("round-trips formatted parameters", () => {
    const name = fc.stringMatching(/^[a-z_]{1,12}$/);
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(name, fc.option(fc.stringMatching(/^[0-9a-z]{1,4}$/))), { selector: ([n]) => n }), (list) => {
        const text = list.length === 0 ? "ext" : `ext; ${formatParameters(list)}`;
        const parsed = parseExtensionElement(text);
        expect(parsed.ok).toBe(true);
        if (parsed.ok) expect([...parsed.params]).toEqual(list);
      }),
    );
  });

  it("runs in linear time on adversarial input", () => {
    const inputs = [
      "x" + "; a".repeat(50_000),
      'x; a="' + "\\a".repeat(100_000) + '"',
      'x; a="' + "b".repeat(200_000),
      "x" + " ".repeat(200_000) + ";",
      "x;" + "\t".repeat(200_000),
    ];
    for (const input of inputs) {
      const start = performance.now();
      parseExtensionElement(input);
      expect(performance.now() - start).toBeLessThan(500);
    }
  });

  it("isToken", () => {
    expect(isToken("abc-1_~")).toBe(true);
    expect(isToken("")).toBe(false);
    expect(isToken("a b")).toBe(false);
    expect(isToken("a\"")).toBe(false);
  });
});
