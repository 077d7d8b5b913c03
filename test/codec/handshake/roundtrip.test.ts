/**
 * Client and server codecs against each other: whatever valid Request a client sends, over any
 * chunking, the server sees the same Request, and the client accepts the server's answer; a
 * rejection body written by the server is read back exactly by the client.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  buildAcceptResponse,
  buildRejectResponse,
  buildUpgradeRequest,
  generateAcceptToken,
  generateNonce,
  HttpHeadParser,
  isValidKey,
  toBase64,
  validateUpgradeRequest,
  validateUpgradeResponse,
  type HttpHead,
} from "../../../codec/handshake/index.js";
import type { Headers } from "../../../codec/events.js";
import { AcceptConnection, RejectConnection, RejectData, Request } from "../../../codec/events.js";
import { concatBytes, FakeExtension, splitAt } from "./helpers.js";

const token = fc.stringMatching(/^[a-zA-Z0-9!#$%&'*+.^_`|~-]{1,12}$/);
const visible = fc.stringMatching(/^[\x21-\x7e]{1,30}$/);
const fieldValue = fc
  .array(fc.integer({ min: 0, max: 0xff }).filter((c) => c === 0x09 || c === 0x20 || (c >= 0x21 && c !== 0x7f)), { maxLength: 30 })
  .map((codes) => String.fromCharCode(...codes).replace(/^[ \t]+|[ \t]+$/g, ""));
const RESERVED = new Set([
  "host",
  "upgrade",
  "connection",
  "sec-websocket-key",
  "sec-websocket-version",
  "sec-websocket-protocol",
  "sec-websocket-extensions",
  "content-length",
  "transfer-encoding",
  "sec-websocket-accept",
]);
const extraHeaders: fc.Arbitrary<Headers> = fc.array(
  fc.tuple(token.filter((n) => !RESERVED.has(n.toLowerCase())), fieldValue),
  { maxLength: 8 },
);

/** Push chunks into a parser; the head and everything after it. */
function feed<K extends "request" | "response">(kind: K, chunks: Uint8Array[]) {
  const parser = new HttpHeadParser({ kind });
  let head: HttpHead | null = null;
  const rest: Uint8Array[] = [];
  for (const chunk of chunks) {
    if (head !== null) rest.push(chunk);
    else if ((head = parser.push(chunk)) !== null) rest.push(parser.takeRest());
  }
  return { head, rest: concatBytes(...rest) };
}

describe("client ↔ server", () => {
  it("any valid Request arrives intact and is accepted, over any chunking, frames kept", () => {
    fc.assert(
      fc.property(
        visible,
        visible.map((t) => "/" + t),
        fc.uniqueArray(token, { maxLength: 4 }),
        extraHeaders,
        fc.array(fc.nat(600), { maxLength: 15 }),
        fc.array(fc.nat(400), { maxLength: 15 }),
        fc.uint8Array({ maxLength: 40 }),
        (host, target, subprotocols, headers, cuts1, cuts2, frames) => {
          const offered = new FakeExtension({ name: "x-ext", offer: 'a=1; b="q,r"' });
          const sent = buildUpgradeRequest(new Request({ host, target, subprotocols, extraHeaders: headers, extensions: [offered] }));
          const server = feed("request", splitAt(concatBytes(sent.bytes, frames), cuts1));
          expect(server.rest).toEqual(frames);
          const request = validateUpgradeRequest(server.head as never);
          expect(request.host).toBe(host);
          expect(request.target).toBe(target);
          expect(request.subprotocols).toEqual(subprotocols);
          expect(request.extensions).toEqual(['x-ext; a=1; b="q,r"']);
          expect(request.extraHeaders.slice(4)).toEqual(headers.map(([n, v]) => [n.toLowerCase(), v]));

          const serverExt = new FakeExtension({ name: "x-ext", accept: (o) => (o.includes("a=1") ? "a=1" : null) });
          const chosen = subprotocols[subprotocols.length - 1] ?? null;
          const { bytes, extensions } = buildAcceptResponse(
            request,
            new AcceptConnection({ subprotocol: chosen, extensions: [serverExt], extraHeaders: headers }),
          );
          expect(extensions).toEqual([serverExt]);
          const client = feed("response", splitAt(concatBytes(bytes, frames), cuts2));
          expect(client.rest).toEqual(frames);
          const result = validateUpgradeResponse(client.head as never, sent);
          expect(result.kind).toBe("accept");
          if (result.kind !== "accept") return;
          expect(result.event.subprotocol).toBe(chosen);
          expect(result.event.extensions).toEqual([offered]);
          expect(offered.finalized).toEqual(["x-ext; a=1"]);
          expect(result.event.extraHeaders).toEqual(headers.map(([n, v]) => [n.toLowerCase(), v]));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("a rejection and its body arrive intact, for every framing and any chunking", () => {
    const framing = fc.constantFrom<Headers>([], [["Content-Length", "LEN"]], [["Transfer-Encoding", "chunked"]]);
    fc.assert(
      fc.property(
        fc.integer({ min: 200, max: 599 }).filter((s) => s !== 204 && s !== 304),
        framing,
        fc.array(fc.uint8Array({ maxLength: 50 }), { maxLength: 6 }),
        fc.array(fc.nat(800), { maxLength: 20 }),
        (status, frame, pieces, cuts) => {
          const body = concatBytes(...pieces);
          const headers: Headers = frame.map(([n, v]) => [n, v === "LEN" ? String(body.length) : v]);
          const reject = new RejectConnection({ statusCode: status, headers: [["X-Why", "because"], ...headers], hasBody: true });
          const { bytes, body: writer } = buildRejectResponse(reject);
          const wire = [bytes];
          pieces.forEach((p, i) => wire.push(writer!.write(new RejectData({ data: p, bodyFinished: i === pieces.length - 1 }))));
          if (pieces.length === 0) wire.push(writer!.write(new RejectData({ data: new Uint8Array(0), bodyFinished: true })));
          expect(writer!.finished).toBe(true);

          const client = feed("response", splitAt(concatBytes(...wire), cuts));
          const sent = { nonce: generateNonce(), subprotocols: [], extensions: [] };
          const result = validateUpgradeResponse(client.head as never, sent);
          expect(result.kind).toBe("reject");
          if (result.kind !== "reject") return;
          expect(result.event.statusCode).toBe(status);
          expect(result.event.headers[0]).toEqual(["x-why", "because"]);
          const lengthZero = headers.length === 1 && headers[0]![0] === "Content-Length" && body.length === 0;
          expect(result.event.hasBody).toBe(!lengthZero);
          if (lengthZero) return;
          const events = [result.body!.push(client.rest), result.body!.push(null)].filter((e) => e !== null);
          expect(concatBytes(...events.map((e) => e.data))).toEqual(body);
          expect(events.at(-1)!.bodyFinished).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("a body-less rejection: hasBody false on both sides", () => {
    const { bytes, body } = buildRejectResponse(new RejectConnection({ statusCode: 403 }));
    expect(body).toBeNull();
    const client = feed("response", [bytes]);
    const result = validateUpgradeResponse(client.head as never, { nonce: generateNonce(), subprotocols: [], extensions: [] });
    expect(result.kind === "reject" && result.event.hasBody).toBe(false);
  });
});

describe("nonce and accept token", () => {
  it("nonces are valid keys and differ", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const n = generateNonce();
      expect(isValidKey(n)).toBe(true);
      seen.add(n);
    }
    expect(seen.size).toBe(1000);
  });

  it("toBase64 matches btoa for any bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        expect(toBase64(bytes)).toBe(btoa(String.fromCharCode(...bytes)));
      }),
    );
  });

  it("the accept token is RFC 6455's", () => {
    expect(generateAcceptToken("dGhlIHNhbXBsZSBub25jZQ==")).toBe("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    expect(generateAcceptToken("x3JJHMbDL1EzLkh9GBhXDw==")).toBe("HSmrc0sMlYUkAGmm5OPpG2HaGWk=");
  });

  it("isValidKey: 16 bytes of base64 exactly", () => {
    expect(isValidKey("AAAAAAAAAAAAAAAAAAAAAA==")).toBe(true);
    expect(isValidKey("AAAAAAAAAAAAAAAAAAAAAA=")).toBe(false);
    expect(isValidKey("AAAAAAAAAAAAAAAAAAAAAAA=")).toBe(false);
    expect(isValidKey("AAAAAAAAAAAAAAAAAAAAA-==")).toBe(false);
    expect(isValidKey("")).toBe(false);
  });
});
