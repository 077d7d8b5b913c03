import { describe, expect, it } from "vitest";
import { RejectBodyReader, RejectBodyWriter, responseBodyFraming } from "../../../codec/handshake/body.js";
import { HttpHeadParser } from "../../../codec/handshake/http-head.js";
import { decodeLatin1, encodeLatin1 } from "../../../codec/handshake/latin1.js";
import { buildUpgradeRequest } from "../../../codec/handshake/client.js";
import { RejectData, Request } from "../../../codec/events.js";
import { LocalProtocolError } from "../../../codec/errors.js";
import { enc } from "./helpers.js";

describe("RejectBodyReader", () => {
  it("needs a body to read", () => {
    expect(() => new RejectBodyReader({ kind: "none" })).toThrow();
  });

  it("ignores empty chunks (never EOF) and everything after the end", () => {
    const r = new RejectBodyReader({ kind: "length", length: 2 });
    expect(r.push(new Uint8Array(0))).toBeNull();
    expect(r.push(enc("a"))).toEqual(new RejectData({ data: enc("a"), bodyFinished: false }));
    expect(r.push(enc("bc"))).toEqual(new RejectData({ data: enc("b"), bodyFinished: true }));
    expect(r.finished).toBe(true);
    expect(r.push(enc("more"))).toBeNull();
    expect(r.push(null)).toBeNull();
  });

  it("coalesces the chunks decoded from one push into one event", () => {
    const r = new RejectBodyReader({ kind: "chunked" });
    const ev = r.push(enc("1\r\na\r\n2\r\nbc\r\n"));
    expect(ev).toEqual(new RejectData({ data: enc("abc"), bodyFinished: false }));
    expect(r.push(enc("0\r\n"))).toBeNull();
    expect(r.push(enc("\r\n"))).toEqual(new RejectData({ data: new Uint8Array(0), bodyFinished: true }));
  });

  it("bounds trailers and chunk extensions", () => {
    const trailers = new RejectBodyReader({ kind: "chunked" }, { maxTrailerSize: 10 });
    expect(() => trailers.push(enc("0\r\nX: " + "a".repeat(20) + "\r\n\r\n"))).toThrow(/trailer/);
    const ext = new RejectBodyReader({ kind: "chunked" }, { maxChunkExtSize: 10 });
    expect(() => ext.push(enc("1;" + "a".repeat(20) + "\r\n"))).toThrow(/extension/);
  });
});

describe("responseBodyFraming", () => {
  const head = (status: number, headers: Array<[string, string]>) =>
    new HttpHeadParser({ kind: "response" }).push(
      enc(`HTTP/1.1 ${status} X\r\n` + headers.map(([n, v]) => `${n}: ${v}\r\n`).join("") + "\r\n"),
    )!;
  it.each<[number, Array<[string, string]>, string]>([
    [400, [], "eof"],
    [400, [["Content-Length", "0"]], "none"],
    [400, [["Content-Length", "7"]], "length"],
    [400, [["Transfer-Encoding", "chunked"]], "chunked"],
    [400, [["Transfer-Encoding", "chunked"], ["Content-Length", "7"]], "chunked"],
    [400, [["Transfer-Encoding", "gzip"]], "eof"],
    [204, [["Content-Length", "7"]], "none"],
    [304, [], "none"],
  ])("%d %j → %s", (status, headers, kind) => {
    expect(responseBodyFraming(head(status, headers)).kind).toBe(kind);
  });
});

describe("RejectBodyWriter", () => {
  it("refuses data that is not bytes", () => {
    const w = new RejectBodyWriter({ kind: "chunked" });
    expect(() => w.write(new RejectData({ data: "text" as unknown as Uint8Array }))).toThrow(LocalProtocolError);
    expect(w.finished).toBe(false);
  });
});

describe("latin1", () => {
  it("decodes every byte to the char of the same code (not windows-1252)", () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    const s = decodeLatin1(all);
    expect(Array.from(s, (c) => c.charCodeAt(0))).toEqual(Array.from(all));
    expect(encodeLatin1(s)).toEqual(all);
    expect(decodeLatin1(all, 0x80, 0xa0)).toBe(String.fromCharCode(...all.subarray(0x80, 0xa0)));
  });

  it("refuses chars above U+00FF", () => {
    expect(() => encodeLatin1("\u20ac")).toThrow(RangeError);
  });

  it("hands out independent buffers, small and large", () => {
    const a = encodeLatin1("aaaa");
    const b = encodeLatin1("bbbb");
    a.fill(0x78);
    expect(b).toEqual(enc("bbbb"));
    // Past the slab's pooling size, a head gets an array of its own.
    const big = encodeLatin1("y".repeat(100_000));
    expect(big.length).toBe(100_000);
    expect(big.byteOffset).toBe(0);
    const views = Array.from({ length: 5000 }, (_, i) => encodeLatin1(String(i).padStart(7, "x")));
    views.forEach((v, i) => expect(decodeLatin1(v)).toBe(String(i).padStart(7, "x")));
  });

  it("a head larger than the slab size round-trips", () => {
    const value = "v".repeat(6000);
    const sent = buildUpgradeRequest(new Request({ host: "h", target: "/", extraHeaders: [["X-Big", value]] }));
    const head = new HttpHeadParser({ kind: "request" }).push(sent.bytes)!;
    expect(head.headers.at(-1)).toEqual(["x-big", value]);
  });
});
