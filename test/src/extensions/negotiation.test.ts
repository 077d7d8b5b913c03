import { describe, expect, it } from "vitest";
import { LocalProtocolError } from "../../../codec/errors.js";
import { PerMessageDeflate, type PerMessageDeflateOptions } from "../../../src/extensions/permessage-deflate.js";
import { negotiate } from "./helpers.js";

const PMD = "permessage-deflate";

describe("client offer() (RFC 7692 §7.1)", () => {
  it.each<[PerMessageDeflateOptions, string | true]>([
    [{}, "client_max_window_bits"],
    [{ clientMaxWindowBits: false }, true],
    [{ clientMaxWindowBits: 10 }, "client_max_window_bits=10"],
    [{ clientMaxWindowBits: 8 }, "client_max_window_bits=8"],
    [{ serverMaxWindowBits: 12 }, "client_max_window_bits; server_max_window_bits=12"],
    [{ clientNoContextTakeover: true }, "client_no_context_takeover; client_max_window_bits"],
    [{ serverNoContextTakeover: true, clientMaxWindowBits: false }, "server_no_context_takeover"],
    [
      { clientNoContextTakeover: true, serverNoContextTakeover: true, clientMaxWindowBits: 9, serverMaxWindowBits: 8 },
      "client_no_context_takeover; server_no_context_takeover; client_max_window_bits=9; server_max_window_bits=8",
    ],
  ])("%j → %j", (options, expected) => {
    expect(new PerMessageDeflate(options).offer()).toBe(expected);
  });

  it("is not enabled before finalize", () => {
    const pmd = new PerMessageDeflate();
    pmd.offer();
    expect(pmd.enabled()).toBe(false);
    expect(pmd.negotiated).toBeNull();
    expect(pmd.role).toBeNull();
  });
});

describe("constructor options", () => {
  it.each<[PerMessageDeflateOptions, string]>([
    [{ clientMaxWindowBits: 7 }, "clientMaxWindowBits"],
    [{ clientMaxWindowBits: 16 }, "clientMaxWindowBits"],
    [{ clientMaxWindowBits: 9.5 }, "clientMaxWindowBits"],
    [{ serverMaxWindowBits: 7 }, "serverMaxWindowBits"],
    [{ serverMaxWindowBits: 16 }, "serverMaxWindowBits"],
    [{ threshold: -1 }, "threshold"],
    [{ threshold: Number.NaN }, "threshold"],
    [{ level: 10 }, "level"],
    [{ memLevel: 0 }, "memLevel"],
  ])("%j is refused", (options, what) => {
    expect(() => new PerMessageDeflate(options)).toThrow(LocalProtocolError);
    expect(() => new PerMessageDeflate(options)).toThrow(what);
  });
});

interface ServerCase {
  offer: string;
  config?: PerMessageDeflateOptions;
  response: string | true | null;
}

describe("server accept() (RFC 7692 §5, §7.1)", () => {
  const cases: ServerCase[] = [
    // plain offers
    { offer: PMD, response: true },
    { offer: "PerMessage-Deflate", response: true },
    { offer: `${PMD}; client_max_window_bits`, response: true },
    { offer: `${PMD}; client_max_window_bits=10`, response: "client_max_window_bits=10" },
    { offer: `${PMD}; client_max_window_bits="10"`, response: "client_max_window_bits=10" },
    { offer: `${PMD}; client_max_window_bits=8`, response: "client_max_window_bits=8" },
    { offer: `${PMD}; server_max_window_bits=8`, response: "server_max_window_bits=8" },
    { offer: `${PMD}; server_max_window_bits=15`, response: "server_max_window_bits=15" },
    { offer: `${PMD}; server_no_context_takeover`, response: "server_no_context_takeover" },
    { offer: `${PMD}; client_no_context_takeover`, response: "client_no_context_takeover" },
    {
      offer: `${PMD}; client_no_context_takeover; server_no_context_takeover; client_max_window_bits=9; server_max_window_bits=10`,
      response: "server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=9",
    },
    // server configuration
    { offer: PMD, config: { serverNoContextTakeover: true }, response: "server_no_context_takeover" },
    { offer: PMD, config: { clientNoContextTakeover: true }, response: "client_no_context_takeover" },
    { offer: PMD, config: { serverMaxWindowBits: 10 }, response: "server_max_window_bits=10" },
    { offer: `${PMD}; server_max_window_bits=12`, config: { serverMaxWindowBits: 10 }, response: "server_max_window_bits=10" },
    { offer: `${PMD}; server_max_window_bits=9`, config: { serverMaxWindowBits: 10 }, response: "server_max_window_bits=9" },
    { offer: `${PMD}; client_max_window_bits`, config: { clientMaxWindowBits: 11 }, response: "client_max_window_bits=11" },
    { offer: `${PMD}; client_max_window_bits=9`, config: { clientMaxWindowBits: 11 }, response: "client_max_window_bits=9" },
    { offer: `${PMD}; client_max_window_bits=13`, config: { clientMaxWindowBits: 11 }, response: "client_max_window_bits=11" },
    // the server cannot limit a client that did not offer client_max_window_bits: decline
    { offer: PMD, config: { clientMaxWindowBits: 11 }, response: null },
    { offer: PMD, config: { clientMaxWindowBits: 15 }, response: true },
    // §5.1: the server MUST decline offers with unknown, duplicate or invalid parameters
    { offer: `${PMD}; foo`, response: null },
    { offer: `${PMD}; client_max_window_bits; client_max_window_bits`, response: null },
    { offer: `${PMD}; server_max_window_bits=10; Server_Max_Window_Bits=10`, response: null },
    { offer: `${PMD}; server_no_context_takeover; server_no_context_takeover`, response: null },
    { offer: `${PMD}; server_max_window_bits`, response: null },
    { offer: `${PMD}; server_max_window_bits=7`, response: null },
    { offer: `${PMD}; server_max_window_bits=16`, response: null },
    { offer: `${PMD}; server_max_window_bits=010`, response: null },
    { offer: `${PMD}; server_max_window_bits=+9`, response: null },
    { offer: `${PMD}; client_max_window_bits=0x9`, response: null },
    { offer: `${PMD}; client_max_window_bits=""`, response: null },
    { offer: `${PMD}; client_no_context_takeover=1`, response: null },
    { offer: `${PMD}; server_no_context_takeover=""`, response: null },
    { offer: `${PMD}; client_max_window_bits="1,0"`, response: null },
    { offer: `${PMD};`, response: null },
    { offer: `${PMD}; client_max_window_bits="10`, response: null },
    { offer: "x-webkit-deflate-frame", response: null },
  ];

  it.each(cases)("$offer with $config → $response", ({ offer, config, response }) => {
    const server = new PerMessageDeflate(config);
    expect(server.accept(offer)).toBe(response);
    expect(server.enabled()).toBe(response !== null);
    expect(server.role).toBe(response === null ? null : "server");
  });

  it("a declined offer leaves the instance untouched, so a later offer can be accepted (offers in order)", () => {
    const server = new PerMessageDeflate();
    expect(server.accept(`${PMD}; client_max_window_bits=10; foo`)).toBeNull();
    expect(server.accept(`${PMD}; client_max_window_bits=20`)).toBeNull();
    expect(server.accept(`${PMD}; server_max_window_bits=11`)).toBe("server_max_window_bits=11");
    expect(server.negotiated).toEqual({
      serverNoContextTakeover: false,
      clientNoContextTakeover: false,
      serverMaxWindowBits: 11,
      clientMaxWindowBits: 15,
    });
  });

  it("uses the client's window only as negotiated (README, Differences from wsproto #10)", () => {
    // No client_max_window_bits offered: the server never limits (or assumes a limit on) the client.
    const server = new PerMessageDeflate({ clientMaxWindowBits: true });
    expect(server.accept(PMD)).toBe(true);
    expect(server.negotiated?.clientMaxWindowBits).toBe(15);
  });

  it("accepts once per instance", () => {
    const server = new PerMessageDeflate();
    expect(server.accept(PMD)).toBe(true);
    expect(() => server.accept(PMD)).toThrow(LocalProtocolError);
    expect(() => server.finalize(PMD)).toThrow(LocalProtocolError);
  });
});

interface ClientCase {
  config?: PerMessageDeflateOptions;
  response: string;
  error?: string;
  negotiated?: { serverNoContextTakeover: boolean; clientNoContextTakeover: boolean; serverMaxWindowBits: number; clientMaxWindowBits: number };
}

const DEFAULTS = { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 };

describe("client finalize() (RFC 7692 §5, §7.1)", () => {
  const cases: ClientCase[] = [
    { response: PMD, negotiated: DEFAULTS },
    { response: "PERMESSAGE-DEFLATE", negotiated: DEFAULTS },
    { response: `${PMD}; server_no_context_takeover`, negotiated: { ...DEFAULTS, serverNoContextTakeover: true } },
    { response: `${PMD}; client_no_context_takeover`, negotiated: { ...DEFAULTS, clientNoContextTakeover: true } },
    { config: { clientNoContextTakeover: true }, response: PMD, negotiated: { ...DEFAULTS, clientNoContextTakeover: true } },
    { response: `${PMD}; server_max_window_bits=9`, negotiated: { ...DEFAULTS, serverMaxWindowBits: 9 } },
    { response: `${PMD}; server_max_window_bits="8"`, negotiated: { ...DEFAULTS, serverMaxWindowBits: 8 } },
    { response: `${PMD}; client_max_window_bits=10`, negotiated: { ...DEFAULTS, clientMaxWindowBits: 10 } },
    { config: { clientMaxWindowBits: 10 }, response: PMD, negotiated: { ...DEFAULTS, clientMaxWindowBits: 10 } },
    { config: { clientMaxWindowBits: 10 }, response: `${PMD}; client_max_window_bits=9`, negotiated: { ...DEFAULTS, clientMaxWindowBits: 9 } },
    // larger than we offered: compatible (we use our own, smaller window)
    { config: { clientMaxWindowBits: 10 }, response: `${PMD}; client_max_window_bits=12`, negotiated: { ...DEFAULTS, clientMaxWindowBits: 10 } },
    { config: { serverMaxWindowBits: 10 }, response: `${PMD}; server_max_window_bits=10`, negotiated: { ...DEFAULTS, serverMaxWindowBits: 10 } },
    { config: { serverMaxWindowBits: 10 }, response: `${PMD}; server_max_window_bits=8`, negotiated: { ...DEFAULTS, serverMaxWindowBits: 8 } },
    { config: { serverNoContextTakeover: true }, response: `${PMD}; server_no_context_takeover`, negotiated: { ...DEFAULTS, serverNoContextTakeover: true } },
    // failures
    { config: { serverMaxWindowBits: 10 }, response: `${PMD}; server_max_window_bits=11`, error: "larger than the 10 offered" },
    { config: { serverMaxWindowBits: 10 }, response: PMD, error: "server_max_window_bits was offered but is missing" },
    { config: { serverNoContextTakeover: true }, response: PMD, error: "server_no_context_takeover was offered but not accepted" },
    { config: { clientMaxWindowBits: false }, response: `${PMD}; client_max_window_bits=10`, error: "client_max_window_bits was not offered" },
    { response: `${PMD}; client_max_window_bits`, error: "needs a value" },
    { response: `${PMD}; server_max_window_bits`, error: "needs a value" },
    { response: `${PMD}; server_max_window_bits=16`, error: "from 8 to 15" },
    { response: `${PMD}; server_max_window_bits=7`, error: "from 8 to 15" },
    { response: `${PMD}; client_max_window_bits=09`, error: "without leading zeros" },
    { response: `${PMD}; server_no_context_takeover=true`, error: "must not have a value" },
    { response: `${PMD}; client_no_context_takeover; client_no_context_takeover`, error: "duplicate parameter" },
    { response: `${PMD}; server_max_window_bits=10; server_max_window_bits=10`, error: "duplicate parameter" },
    { response: `${PMD}; foo=1`, error: 'unknown parameter "foo"' },
    { response: `${PMD}; server_max_window_bits="1`, error: "unterminated" },
    { response: "x-webkit-deflate-frame", error: "it names" },
  ];

  it.each(cases)("$response with $config", ({ config, response, error, negotiated }) => {
    const client = new PerMessageDeflate(config);
    if (error !== undefined) {
      expect(() => client.finalize(response)).toThrow(error);
      expect(client.enabled()).toBe(false);
    } else {
      client.finalize(response);
      expect(client.enabled()).toBe(true);
      expect(client.role).toBe("client");
      expect(client.negotiated).toEqual(negotiated);
    }
  });

  it("finalizes once per instance: a duplicate extension in a response is not applied twice", () => {
    const client = new PerMessageDeflate();
    client.finalize(PMD);
    expect(() => client.finalize(PMD)).toThrow(LocalProtocolError);
  });
});

describe("negotiated both ways", () => {
  it("client and server agree on every parameter combination", () => {
    const bitsChoices: Array<number | boolean | undefined> = [undefined, false, 8, 9, 12, 15];
    for (const clientNoContextTakeover of [false, true])
      for (const serverNoContextTakeover of [false, true])
        for (const clientMaxWindowBits of bitsChoices)
          for (const serverMaxWindowBits of [undefined, 8, 11, 15]) {
            const { client, server } = negotiate(
              { clientNoContextTakeover, serverNoContextTakeover, clientMaxWindowBits, serverMaxWindowBits },
              {},
            );
            expect(client.negotiated).toEqual(server.negotiated);
            expect(client.negotiated!.serverNoContextTakeover).toBe(serverNoContextTakeover);
            expect(client.negotiated!.clientNoContextTakeover).toBe(clientNoContextTakeover);
            expect(client.negotiated!.serverMaxWindowBits).toBe(serverMaxWindowBits ?? 15);
            expect(client.negotiated!.clientMaxWindowBits).toBe(typeof clientMaxWindowBits === "number" ? clientMaxWindowBits : 15);
          }
  });

  it("a server's limits bind the client", () => {
    const { client, server } = negotiate({}, { clientMaxWindowBits: 9, serverMaxWindowBits: 10, clientNoContextTakeover: true, serverNoContextTakeover: true });
    expect(client.negotiated).toEqual({ serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 9 });
    expect(server.negotiated).toEqual(client.negotiated);
  });
});
