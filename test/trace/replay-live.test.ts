/**
 * The flight recorder on live loopback connections (wsmachine/node on 127.0.0.1): a client and
 * a server that negotiated permessage-deflate, and a server that failed a peer sending an
 * unmasked frame, each recorded as JSON Lines and replayed through a fresh WSConnection to the
 * same events, states, errors and bytes.
 */
import * as http from "node:http";
import * as net from "node:net";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { parseTrace, replayTrace, PerMessageDeflate, type TraceLine } from "../../src/index.js";
import { connect, nodePerMessageDeflate, upgrade, type WebSocketEndpoint } from "../../src/node/index.js";
import { jsonLinesRecorder } from "../../src/inspector/trace-writer.js";

/** A recorder collecting JSON Lines in memory. */
function memoryTrace(): { record: ReturnType<typeof jsonLinesRecorder>["record"]; text: () => string } {
  const lines: string[] = [];
  const recorder = jsonLinesRecorder((line) => lines.push(line));
  return { record: recorder.record, text: () => lines.join("") };
}

const servers: http.Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
});

/** An echo server whose connections are recorded into `traces`; resolves with its port. */
async function recordedEchoServer(traces: Array<{ text: () => string; closed: Promise<unknown> }>): Promise<number> {
  const server = http.createServer();
  servers.push(server);
  server.on("upgrade", (request, socket, head) => {
    const trace = memoryTrace();
    const opened = upgrade(request, socket as net.Socket, head, { record: trace.record, perMessageDeflate: true });
    const closed = opened.then((endpoint: WebSocketEndpoint) => {
      endpoint.on("error", () => {});
      endpoint.on("message", (data) => endpoint.send(data));
      return endpoint.closed;
    });
    traces.push({ text: trace.text, closed });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

function changedStates(lines: readonly TraceLine[]): string[] {
  return lines.filter((line, index) => index === 0 || line.state !== lines[index - 1]!.state).map((line) => line.state);
}

describe("replayTrace on live loopback connections", () => {
  it("replays both ends of a permessage-deflate conversation to the same events, states and bytes", async () => {
    const serverTraces: Array<{ text: () => string; closed: Promise<unknown> }> = [];
    const port = await recordedEchoServer(serverTraces);
    const clientTrace = memoryTrace();
    const client = await connect(`ws://127.0.0.1:${port}/chat`, { record: clientTrace.record, perMessageDeflate: true });
    for (const message of ["hello hello hello hello", Uint8Array.from({ length: 3000 }, (_, i) => i % 7), "x".repeat(70_000)]) {
      const echoed = new Promise((resolve) => client.once("message", resolve));
      client.send(message);
      await echoed;
    }
    const pong = new Promise((resolve) => client.once("pong", resolve));
    client.ping("are you there");
    await pong;
    client.close(1000, "done");
    await client.closed;
    await serverTraces[0]!.closed;

    for (const [side, text] of [["client", clientTrace.text()], ["server", serverTraces[0]!.text()]] as const) {
      const lines = parseTrace(text);
      expect(lines[0]).toMatchObject({ type: "start", role: side });
      expect(changedStates(lines)[changedStates(lines).length - 1]).toBe("CLOSED");
      // The Node endpoint's node:zlib engine, so that the compressed bytes can be compared too.
      const exact = replayTrace(text, { extension: () => nodePerMessageDeflate() });
      expect(exact.firstMismatch, `${side}: ${JSON.stringify(exact.firstMismatch)}`).toBeNull();
      expect(exact.matches && exact.bytesMatch).toBe(true);
      // With the default (portable pako) engine the compressed bytes may differ, the events and states may not.
      expect(replayTrace(text).matches).toBe(true);
      // The messages are in the trace: the server received the three, compressed.
      const sent = lines.flatMap((line) => (line.type === "send" && line.event.type !== "CloseConnection" && "data" in line.event ? [line.event.type] : []));
      expect(sent.length).toBeGreaterThanOrEqual(side === "client" ? 3 : 3);
    }
    const accept = parseTrace(serverTraces[0]!.text()).find((line) => line.type === "send" && line.event.type === "AcceptConnection");
    expect(accept).toMatchObject({ event: { extensions: [{ name: "permessage-deflate" }] } });
  });

  it("replays a server that failed a peer's unmasked frame (1002) through OPEN.failed", async () => {
    const serverTraces: Array<{ text: () => string; closed: Promise<unknown> }> = [];
    const port = await recordedEchoServer(serverTraces);
    const socket = net.connect(port, "127.0.0.1");
    await new Promise((resolve) => socket.once("connect", resolve));
    socket.write("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
    await new Promise((resolve) => socket.once("data", resolve));
    socket.write(Uint8Array.of(0x81, 0x05, 0x68, 0x65, 0x6c, 0x6c, 0x6f)); // "hello", unmasked
    socket.resume();
    await new Promise((resolve) => socket.once("close", resolve));
    await serverTraces[0]!.closed;

    const text = serverTraces[0]!.text();
    const lines = parseTrace(text);
    expect(changedStates(lines)).toEqual(["CONNECTING.awaitingRequest", "CONNECTING.requestReceived", "OPEN.active", "OPEN.failed", "LOCAL_CLOSING.failed", "CLOSED"]);
    const failure = lines.find((line) => line.type === "event" && line.event.type === "CloseConnection");
    expect(failure).toMatchObject({ event: { code: 1002 }, state: "OPEN.failed" });
    // The refused frame is in the trace as it arrived.
    expect(lines.some((line) => line.type === "receive" && line.data === Buffer.from([0x81, 0x05, 0x68, 0x65, 0x6c, 0x6c, 0x6f]).toString("base64"))).toBe(true);

    const result = replayTrace(text);
    expect(result.firstMismatch).toBeNull();
    expect(result.matches && result.bytesMatch).toBe(true);
    expect(result.steps.map((step) => step.replayed.state)).toEqual(lines.map((line) => line.state));
  });
});

describe("replayTrace finds what differs", () => {
  it("reports the first step whose state or event is not what was recorded", async () => {
    const serverTraces: Array<{ text: () => string; closed: Promise<unknown> }> = [];
    const port = await recordedEchoServer(serverTraces);
    const client = await connect(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false });
    client.send("one");
    await new Promise((resolve) => client.once("message", resolve));
    client.close();
    await serverTraces[0]!.closed;
    const lines = parseTrace(serverTraces[0]!.text());
    expect(replayTrace(lines).matches).toBe(true);

    // A recorded message that the input does not hold: the replay disagrees at that very line.
    const index = lines.findIndex((line) => line.type === "event" && line.event.type === "TextMessage");
    const tampered = lines.map((line, at) => (at === index && line.type === "event" ? { ...line, event: { ...line.event, data: "two" } } : line)) as TraceLine[];
    const result = replayTrace(tampered);
    expect(result.matches).toBe(false);
    expect(result.firstMismatch?.index).toBe(index);
    expect(result.firstMismatch?.replayed.event).toMatchObject({ type: "TextMessage", data: "one" });
    // And a state that was not reached.
    const wrongState = lines.map((line, at) => (at === 2 ? { ...line, state: "REJECTING.sendingBody" } : line)) as TraceLine[];
    expect(replayTrace(wrongState).firstMismatch?.index).toBe(2);
    void PerMessageDeflate;
  });
});
