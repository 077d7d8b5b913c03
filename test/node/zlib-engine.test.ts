/**
 * wsmachine/node's deflate engine: native zlib deflate driven synchronously, pako inflate.
 * Its output must be what the default engine's inflater (and any RFC 7692 peer) decodes, with
 * and without context takeover, at every window size, across large messages.
 */
import { describe, expect, it } from "vitest";
import { constants, inflateRawSync } from "node:zlib";
import { nodeZlibEngine } from "../../src/node/zlib-engine.js";
import { pakoEngine } from "../../src/extensions/deflate-engine.js";
import { PerMessageDeflate } from "../../src/extensions/permessage-deflate.js";
import { AcceptConnection, ConnectionType, Request, TextMessage, BytesMessage, WSConnection } from "../../src/index.js";
import { compressibleText, concat, equalBytes, randomBytes, strictInflate } from "../src/extensions/helpers.js";

const engine = nodeZlibEngine();

function deflateMessages(bits: number, messages: Uint8Array[], reset = false): Uint8Array[] {
  const d = engine!.createDeflater(bits);
  return messages.map((m) => {
    const out = concat(d.push(m, true));
    expect([...out.subarray(out.length - 4)]).toEqual([0, 0, 0xff, 0xff]);
    if (reset) d.reset();
    return out.subarray(0, out.length - 4);
  });
}

describe("nodeZlibEngine", () => {
  it("is available on this Node", () => {
    expect(engine).not.toBeNull();
    expect(engine!.name).toContain("node:zlib");
  });

  it.each([8, 9, 10, 11, 12, 13, 14, 15])("%i bits: messages decode with a strict inflater of that window, with context takeover", (bits) => {
    const data = [compressibleText(40_000, bits, 32_000), compressibleText(10_000, bits + 1, 32_000), randomBytes(3000, bits)];
    const payloads = deflateMessages(bits, data);
    strictInflate(payloads, bits, false).forEach((m, i) => expect(equalBytes(m, data[i]!)).toBe(true));
  });

  it("reset() starts a fresh stream (no context takeover): every message decodes on its own", () => {
    const data = [compressibleText(5000, 1), compressibleText(5000, 1), compressibleText(5000, 2)];
    const payloads = deflateMessages(15, data, true);
    payloads.forEach((payload, i) => {
      const plain = inflateRawSync(Buffer.concat([payload, Buffer.from([0, 0, 0xff, 0xff])]), { finishFlush: constants.Z_SYNC_FLUSH });
      expect(equalBytes(plain, data[i]!)).toBe(true);
    });
    strictInflate(payloads, 15, true).forEach((m, i) => expect(equalBytes(m, data[i]!)).toBe(true));
  });

  it("streams a message in several pushes; output over 64 KiB comes in several chunks", () => {
    const d = engine!.createDeflater(15);
    const big = randomBytes(300_000, 5); // incompressible: output larger than one 64 KiB chunk
    const parts = [...d.push(big.subarray(0, 100_000), false), ...d.push(big.subarray(100_000), true)];
    expect(parts.length).toBeGreaterThan(1);
    const out = concat(parts);
    const inflater = pakoEngine.createInflater(15);
    expect(equalBytes(concat(inflater.push(out.subarray(0, out.length - 4), Infinity, true)), big)).toBe(true);
  });

  it("a flush with nothing new pushed yields at most the empty sync-flush block", () => {
    const d = engine!.createDeflater(15);
    d.push(new TextEncoder().encode("hello"), true);
    const again = concat(d.push(new Uint8Array(0), true));
    expect(again.length === 0 || equalBytes(again, new Uint8Array([0, 0, 0, 0xff, 0xff]))).toBe(true);
  });

  it("validates parameters like the default engine", () => {
    expect(() => engine!.createDeflater(7)).toThrow(RangeError);
    expect(() => engine!.createDeflater(16)).toThrow(RangeError);
    expect(() => engine!.createDeflater(15, 0)).toThrow(RangeError);
    expect(() => engine!.createDeflater(15, 8, 10)).toThrow(RangeError);
    expect(() => engine!.createInflater(7)).toThrow(RangeError);
  });

  it("works through WSConnection both ways (client and server compress natively)", () => {
    const client = new WSConnection(ConnectionType.CLIENT);
    const server = new WSConnection(ConnectionType.SERVER);
    server.receiveData(client.send(new Request({ host: "h", target: "/", extensions: [new PerMessageDeflate({ engine: engine!, threshold: 0 })] })));
    [...server.events()];
    client.receiveData(server.send(new AcceptConnection({ extensions: [new PerMessageDeflate({ engine: engine!, threshold: 0 })] })));
    expect([...client.events()][0]).toBeInstanceOf(AcceptConnection);
    for (let i = 0; i < 50; i++) {
      const text = `{"n":${i},"payload":"${"abc".repeat(i * 10)}"}`;
      server.receiveData(client.send(new TextMessage({ data: text })));
      const got = [...server.events()];
      expect(got.map((e) => (e as TextMessage).data).join("")).toBe(text);
      const bytes = randomBytes(i * 100, i);
      client.receiveData(server.send(new BytesMessage({ data: bytes })));
      expect(equalBytes(concat([...client.events()].map((e) => (e as BytesMessage).data)), bytes)).toBe(true);
    }
  });
});
