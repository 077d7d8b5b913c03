/**
 * The offline inspector without a browser: the page assets it serves, and the live feed (a
 * WebSocket served by wsmachine) reporting an outside client's connection to the echo server —
 * lifecycle from the XState inspection observer, frames from the frame trace.
 */
import * as net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { ConnectionType, replayTrace } from "../../src/index.js";
import { connect, type WebSocketEndpoint } from "../../src/node/index.js";
import { InspectorHub, type FeedMessage } from "../../src/inspector/hub.js";
import { startInspector, type RunningInspector } from "../../src/inspector/server.js";

describe("offline inspector server", () => {
  let inspector: RunningInspector;
  beforeAll(async () => {
    inspector = await startInspector({ demoInterval: 0 });
  });
  afterAll(async () => {
    await inspector.close();
  });

  it("serves the page with the chart inlined and nothing from the internet", async () => {
    const page = await fetch(inspector.url);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('<svg xmlns="http://www.w3.org/2000/svg" class="chart"');
    expect(html).toContain('data-state="OPEN.active"');
    // The only absolute URL is the SVG namespace, which is a name, not a fetch.
    expect(html.match(/https?:\/\/[^"']+/g)).toEqual(["http://www.w3.org/2000/svg"]);
    for (const asset of ["app.js", "chart.js", "views.js", "trace.js", "style.css", "graph.json"]) expect((await fetch(`${inspector.url}${asset}`)).status).toBe(200);
    expect((await fetch(`${inspector.url}nothing-here`)).status).toBe(404);
  });

  it("reports an outside client's echo connection on the live feed: states in order, frames, end", async () => {
    const messages: FeedMessage[] = [];
    const feed: WebSocketEndpoint = await connect(inspector.url.replace("http:", "ws:") + "live");
    feed.on("message", (data) => messages.push(JSON.parse(data as string) as FeedMessage));

    // Any WebSocket client (here ws's) talking to /echo is inspected.
    const client = new WebSocket(inspector.echoUrl);
    await new Promise((resolve, reject) => client.once("open", resolve).once("error", reject));
    const echoed = new Promise<string>((resolve) => client.once("message", (data) => resolve(String(data))));
    client.send("hello inspector");
    expect(await echoed).toBe("hello inspector");
    client.close(1000, "bye");
    await new Promise((resolve) => client.once("close", resolve));

    const ended = () => messages.find((message) => message.type === "ended");
    for (let waited = 0; ended() === undefined && waited < 3000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
    feed.close();

    expect(messages[0]!.type).toBe("hello");
    const announced = messages.find((message) => message.type === "connection");
    expect(announced).toMatchObject({ connection: { role: "server" } });
    const id = announced!.type === "connection" ? announced!.connection.id : -1;
    const states = messages.flatMap((message) => (message.type === "lifecycle" && message.id === id && message.entry.changed ? [message.entry.state] : []));
    expect(states).toEqual(["CONNECTING.awaitingRequest", "CONNECTING.requestReceived", "OPEN.active", "REMOTE_CLOSING", "CLOSED"]);
    const frames = messages.flatMap((message) =>
      message.type === "frame" && message.id === id ? [`${message.entry.direction} ${message.entry.opcodeName} ${message.entry.length}${message.entry.closeCode === undefined ? "" : ` ${message.entry.closeCode}`}`] : [],
    );
    expect(frames).toEqual(["in text 15", "out text 15", "in close 5 1000", "out close 5 1000"]);
    expect(ended()).toMatchObject({ id, ended: { code: 1000, wasClean: true } });
    expect(inspector.hub.get(id)?.ended?.code).toBe(1000);
  });
});

/** A raw client that completes the handshake on /echo, then sends "hello" unmasked (a client must mask: 1002). */
async function unmaskedPeer(url: string): Promise<void> {
  const { port } = new URL(url);
  const socket = net.connect(Number(port), "127.0.0.1");
  await new Promise((resolve) => socket.once("connect", resolve));
  socket.write("GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
  await new Promise((resolve) => socket.once("data", resolve));
  socket.write(Uint8Array.of(0x81, 0x05, 0x68, 0x65, 0x6c, 0x6c, 0x6f));
  socket.resume();
  await new Promise((resolve) => socket.once("close", resolve));
}

async function until<T>(find: () => T | undefined, what: string): Promise<T> {
  for (let waited = 0; waited < 5000; waited += 20) {
    const found = find();
    if (found !== undefined) return found;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`waited 5 s for ${what}`);
}

describe("inspector: failures, previews and traces", () => {
  let inspector: RunningInspector;
  beforeAll(async () => {
    inspector = await startInspector({ demoInterval: 0 });
  });
  afterAll(async () => {
    await inspector.close();
  });

  it("shows the frame that failed a connection, with the chunk it came in, and the failure", async () => {
    await unmaskedPeer(inspector.echoUrl);
    const record = await until(() => inspector.hub.connections().find((each) => each.ended !== null), "the connection to end");
    expect(record.failure).toEqual({ code: 1002, reason: expect.stringMatching(/unmasked frame/) as unknown as string });
    const refused = record.frames.find((frame) => frame.refused !== undefined);
    expect(refused).toMatchObject({ direction: "in", opcodeName: "refused", refused: { code: 1002 }, preview: { hex: "81 05 68 65 6c 6c 6f", text: "··hello", length: 7 } });
    // The close the server answered with comes after it, with its reason previewed.
    const out = record.frames.filter((frame) => frame.direction === "out");
    expect(out.map((frame) => `${frame.opcodeName} ${frame.closeCode}`)).toEqual(["close 1002"]);
    expect(out[0]!.preview?.text).toMatch(/^unmasked frame/);
  });

  it("marks a connection whose handshake failed, with where it failed", async () => {
    const before = inspector.hub.connections().length;
    const socket = net.connect(Number(new URL(inspector.url).port), "127.0.0.1");
    await new Promise((resolve) => socket.once("connect", resolve));
    // No Sec-WebSocket-Key.
    socket.end("GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n");
    socket.resume();
    await new Promise((resolve) => socket.once("close", resolve));
    const record = await until(() => inspector.hub.connections().slice(before).find((each) => each.ended !== null), "the failed handshake to end");
    expect(record.failure?.reason).toMatch(/^handshake: .*Sec-WebSocket-Key/i);
    expect(record.lifecycle.map((entry) => entry.event)).toContain("peer.handshakeFailed");
  });

  it("serves each connection's trace, which replays to the same states", async () => {
    const client = new WebSocket(inspector.echoUrl);
    await new Promise((resolve, reject) => client.once("open", resolve).once("error", reject));
    client.send(Buffer.from([1, 2, 3]));
    await new Promise((resolve) => client.once("message", resolve));
    client.close(1000);
    await new Promise((resolve) => client.once("close", resolve));
    const record = await until(() => inspector.hub.connections().find((each) => each.ended !== null && each.failure === null), "the clean connection to end");
    const binary = record.frames.find((frame) => frame.opcodeName === "binary" && frame.direction === "in");
    expect(binary?.preview).toEqual({ length: 3, hex: "01 02 03", text: "···" });
    const response = await fetch(`${inspector.url}trace/${record.id}.jsonl`);
    expect(response.status).toBe(200);
    const result = replayTrace(await response.text());
    expect(result.firstMismatch).toBeNull();
    expect(result.steps[result.steps.length - 1]!.replayed.state).toBe("CLOSED");
    expect((await fetch(`${inspector.url}trace/9999.jsonl`)).status).toBe(404);
  });
});

describe("InspectorHub", () => {
  it("with redact: no previews, and the trace holds lengths only", () => {
    const hub = new InspectorHub({ redact: true });
    const tracked = hub.track("client", "r");
    const entries = hub.get(tracked.id)!;
    tracked.record({ type: "start", role: ConnectionType.CLIENT, limits: { maxMessageSize: null, maxFragments: null, maxHandshakeHeadSize: null, assembleMessages: false }, framesOnly: false, restored: false, state: "OPEN.active" });
    tracked.frameTrace({ direction: "in", opcode: 1, length: 6, frameFinished: true });
    tracked.record({ type: "receive", data: new TextEncoder().encode("secret"), error: null, state: "OPEN.active" });
    tracked.record({ type: "drained", state: "OPEN.active" });
    expect(entries.frames).toHaveLength(1);
    expect(entries.frames[0]!.preview).toBeUndefined();
    expect(hub.traceOf(tracked.id)).toContain('"data":{"redacted":6}');
  });

  it("forgets the oldest ended connections past its limit, never a live one", () => {
    const hub = new InspectorHub({ maxConnections: 2 });
    const forgotten: number[] = [];
    hub.subscribe((message) => {
      if (message.type === "forget") forgotten.push(message.id);
    });
    const first = hub.track("client", "a");
    const second = hub.track("client", "b");
    hub.track("client", "c"); // three live: nothing can go
    expect(forgotten).toEqual([]);
    second.end({ code: 1000, reason: "", wasClean: true });
    expect(forgotten).toEqual([second.id]);
    expect(hub.connections().map((record) => record.id)).toEqual([first.id, second.id + 1]);
  });

  it("keeps at most maxFrames frames per connection and counts the rest", () => {
    const hub = new InspectorHub({ maxFrames: 3 });
    const tracked = hub.track("server", "x");
    for (let length = 1; length <= 5; length++) tracked.frameTrace({ direction: "in", opcode: 2, length, frameFinished: true });
    const record = hub.get(tracked.id)!;
    expect(record.frames.map((frame) => frame.length)).toEqual([3, 4, 5]);
    expect(record.framesDropped).toBe(2);
  });
});
