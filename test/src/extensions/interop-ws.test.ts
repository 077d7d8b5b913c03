/**
 * Interoperability with ws's own permessage-deflate (ws/lib/permessage-deflate.js, over
 * node:zlib), without sockets: negotiate through each side's offer/accept, then compress with
 * one implementation and decompress with the other, in both roles and directions.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { NO_RSV_BITS, Opcode } from "../../../codec/frame.js";
import { PerMessageDeflate, type PerMessageDeflateOptions } from "../../../src/extensions/permessage-deflate.js";
import { compressibleText, concat, element, equalBytes, HookDecoder, randomBytes, sendMessage, split, te, type WireFrame } from "./helpers.js";

interface WsPerMessageDeflate {
  params: Record<string, unknown> | null;
  offer(): Record<string, unknown>;
  accept(configurations: unknown[]): Record<string, unknown>;
  compress(data: Uint8Array, fin: boolean, callback: (error: Error | null, result?: Uint8Array) => void): void;
  decompress(data: Uint8Array, fin: boolean, callback: (error: Error | null, result?: Uint8Array) => void): void;
  cleanup(): void;
}

// ws's package exports only its entry point: load the module file by path.
const require = createRequire(import.meta.url);
const wsDirectory = dirname(require.resolve("ws/package.json"));
const WsPerMessageDeflate = require(join(wsDirectory, "lib/permessage-deflate.js")) as new (options: object) => WsPerMessageDeflate;
const wsExtension = require(join(wsDirectory, "lib/extension.js")) as {
  parse(header: string): Record<string, unknown[]>;
  format(extensions: Record<string, unknown>): string;
};

function wsCompress(ws: WsPerMessageDeflate, data: Uint8Array, fin: boolean): Promise<Uint8Array> {
  return new Promise((resolve, reject) => ws.compress(data, fin, (error, result) => (error ? reject(error) : resolve(new Uint8Array(result!)))));
}

function wsDecompress(ws: WsPerMessageDeflate, data: Uint8Array, fin: boolean): Promise<Uint8Array> {
  return new Promise((resolve, reject) => ws.decompress(data, fin, (error, result) => (error ? reject(error) : resolve(new Uint8Array(result!)))));
}

interface WsOptions {
  clientNoContextTakeover?: boolean;
  serverNoContextTakeover?: boolean;
  clientMaxWindowBits?: number | boolean;
  serverMaxWindowBits?: number | boolean;
}

/** Our client ↔ ws server. */
function ourClientWsServer(ours: PerMessageDeflateOptions, ws: WsOptions): { client: PerMessageDeflate; server: WsPerMessageDeflate; response: string } {
  const client = new PerMessageDeflate({ ...ours, threshold: 0 });
  const server = new WsPerMessageDeflate({ ...ws, threshold: 0, isServer: true });
  const offer = element(client.offer());
  const params = server.accept(wsExtension.parse(offer)["permessage-deflate"]!);
  const response = wsExtension.format({ "permessage-deflate": params });
  client.finalize(response);
  return { client, server, response };
}

/** ws client ↔ our server. */
function wsClientOurServer(ws: WsOptions, ours: PerMessageDeflateOptions): { client: WsPerMessageDeflate; server: PerMessageDeflate; response: string } {
  const client = new WsPerMessageDeflate({ ...ws, threshold: 0, isServer: false });
  const server = new PerMessageDeflate({ ...ours, threshold: 0 });
  const offer = wsExtension.format({ "permessage-deflate": client.offer() });
  const response = element(server.accept(offer));
  client.accept(wsExtension.parse(response)["permessage-deflate"]!);
  return { client, server, response };
}

function messages(seed: number): Uint8Array[][] {
  const text = compressibleText(20_000, seed, 16_000);
  const json = te.encode(JSON.stringify({ seed, list: Array.from({ length: 30 }, (_, i) => ({ i, v: `value-${i % 7}` })) }));
  return [[text], [json], [new Uint8Array(0)], split(text, 5000, 0, 7000), [randomBytes(3000, seed)], [json], [new Uint8Array(0)], [text]];
}

/** ws compresses each fragment (as its Sender does); our extension decodes the frames. */
async function wsToOurs(ws: WsPerMessageDeflate, ours: PerMessageDeflate, seed: number): Promise<void> {
  const dec = new HookDecoder(ours, 1 << 24, 1000);
  const sent = messages(seed);
  for (const fragments of sent) {
    const frames: WireFrame[] = [];
    for (let i = 0; i < fragments.length; i++) {
      const fin = i === fragments.length - 1;
      const payload = await wsCompress(ws, fragments[i]!, fin);
      frames.push({ opcode: i === 0 ? Opcode.BINARY : Opcode.CONTINUATION, rsv: i === 0 ? { rsv1: true, rsv2: false, rsv3: false } : NO_RSV_BITS, payload, fin });
    }
    dec.receive(frames);
  }
  expect(dec.messages.length).toBe(sent.length);
  dec.messages.forEach((m, i) => expect(equalBytes(m.data, concat(sent[i]!)), `message ${i}`).toBe(true));
}

/** Our extension compresses; ws decompresses each frame. */
async function oursToWs(ours: PerMessageDeflate, ws: WsPerMessageDeflate, seed: number): Promise<void> {
  const sent = messages(seed);
  for (const [index, fragments] of sent.entries()) {
    const frames = sendMessage(ours, Opcode.BINARY, fragments);
    expect(frames[0]!.rsv.rsv1).toBe(true);
    const parts: Uint8Array[] = [];
    for (const frame of frames) parts.push(await wsDecompress(ws, frame.payload, frame.fin));
    expect(equalBytes(concat(parts), concat(fragments)), `message ${index}`).toBe(true);
  }
}

describe("interop with ws's permessage-deflate", () => {
  const combos: Array<[boolean, boolean, number | undefined, number | undefined]> = [];
  for (const cnc of [false, true])
    for (const snc of [false, true])
      for (const cb of [undefined, 8, 9, 12])
        for (const sb of [undefined, 8, 10, 15]) combos.push([cnc, snc, cb, sb]);

  it.each(combos)("our client, ws server: client_no_context_takeover=%s server_no_context_takeover=%s client_max_window_bits=%s server_max_window_bits=%s", async (cnc, snc, cb, sb) => {
    const { client, server } = ourClientWsServer(
      { clientNoContextTakeover: cnc, serverNoContextTakeover: snc, clientMaxWindowBits: cb ?? true, ...(sb === undefined ? {} : { serverMaxWindowBits: sb }) },
      {},
    );
    expect(client.negotiated).toEqual({
      clientNoContextTakeover: cnc,
      serverNoContextTakeover: snc,
      clientMaxWindowBits: cb ?? 15,
      serverMaxWindowBits: sb ?? 15,
    });
    await oursToWs(client, server, 1);
    await wsToOurs(server, client, 2);
    server.cleanup();
  });

  it.each(combos)("ws client, our server: client_no_context_takeover=%s server_no_context_takeover=%s client_max_window_bits=%s server_max_window_bits=%s", async (cnc, snc, cb, sb) => {
    const { client, server } = wsClientOurServer(
      { clientNoContextTakeover: cnc, serverNoContextTakeover: snc, ...(cb === undefined ? {} : { clientMaxWindowBits: cb }), ...(sb === undefined ? {} : { serverMaxWindowBits: sb }) },
      {},
    );
    expect(server.negotiated).toEqual({
      clientNoContextTakeover: cnc,
      serverNoContextTakeover: snc,
      clientMaxWindowBits: cb ?? 15,
      serverMaxWindowBits: sb ?? 15,
    });
    await wsToOurs(client, server, 3);
    await oursToWs(server, client, 4);
    client.cleanup();
  });

  it("a ws client accepts our server's limits, and keeps to them", async () => {
    const { client, server, response } = wsClientOurServer({}, { clientMaxWindowBits: 9, serverMaxWindowBits: 10, serverNoContextTakeover: true });
    expect(response).toBe("permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_max_window_bits=9");
    expect(client.params).toEqual({ client_max_window_bits: 9, server_max_window_bits: 10, server_no_context_takeover: true });
    await wsToOurs(client, server, 5);
    await oursToWs(server, client, 6);
    client.cleanup();
  });

  it("our client accepts a ws server's limits", async () => {
    const { client, server, response } = ourClientWsServer({}, { clientMaxWindowBits: 10, serverMaxWindowBits: 9, clientNoContextTakeover: true });
    expect(response).toBe("permessage-deflate; client_max_window_bits=10; client_no_context_takeover; server_max_window_bits=9");
    expect(client.negotiated).toEqual({ clientNoContextTakeover: true, serverNoContextTakeover: false, clientMaxWindowBits: 10, serverMaxWindowBits: 9 });
    await oursToWs(client, server, 7);
    await wsToOurs(server, client, 8);
    server.cleanup();
  });
});
