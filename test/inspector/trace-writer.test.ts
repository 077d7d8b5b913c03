/** The flight recorder's file writer: JSON Lines on disk, the size bound, redaction. */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { AcceptConnection, ConnectionType, Request, TextMessage, WSConnection, parseTrace, replayTrace, type TraceEntry } from "../../src/index.js";
import { traceWriter } from "../../src/inspector/trace-writer.js";

const directory = mkdtempSync(join(tmpdir(), "wsmachine-trace-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

/** A client talking to a server: the client recorded by `record`; `messages` text messages each way. */
function converse(record: (entry: TraceEntry) => void, messages: number): void {
  const client = new WSConnection(ConnectionType.CLIENT, { record });
  const server = new WSConnection(ConnectionType.SERVER);
  server.receiveData(client.send(new Request({ host: "h", target: "/" })));
  [...server.events()];
  client.receiveData(server.send(new AcceptConnection()));
  [...client.events()];
  for (let i = 0; i < messages; i++) {
    server.receiveData(client.send(new TextMessage({ data: `message ${i} ${"x".repeat(50)}` })));
    for (const event of server.events()) client.receiveData(server.send(event as TextMessage));
    [...client.events()];
  }
}

describe("traceWriter", () => {
  it("writes one JSON line per entry, stamped by its clock, that replays", async () => {
    const path = join(directory, "plain.jsonl");
    let now = 1000;
    const writer = traceWriter(path, { clock: () => now++ });
    converse(writer.record, 3);
    await writer.close();
    const text = readFileSync(path, "utf8");
    expect(text.endsWith("\n")).toBe(true);
    expect(Buffer.byteLength(text)).toBe(writer.bytes);
    const lines = parseTrace(text);
    expect(lines.map((line) => line.at)).toEqual(lines.map((_, index) => 1000 + index));
    expect(replayTrace(text).matches).toBe(true);
  });

  it("stops at maxBytes with a truncated line, and the replay covers what was kept", async () => {
    const path = join(directory, "bounded.jsonl");
    const writer = traceWriter(path, { maxBytes: 3000 });
    converse(writer.record, 50);
    await writer.close();
    expect(writer.truncated).toBe(true);
    const text = readFileSync(path, "utf8");
    expect(writer.bytes).toBeLessThanOrEqual(3000);
    const lines = parseTrace(text);
    expect(lines[lines.length - 1]).toMatchObject({ type: "truncated", bytes: writer.bytes });
    const result = replayTrace(text);
    expect(result.truncated).toBe(true);
    expect(result.matches).toBe(true);
  });

  it("with redact keeps the route and lengths, not the payloads", async () => {
    const path = join(directory, "redacted.jsonl");
    const writer = traceWriter(path, { redact: true });
    converse(writer.record, 2);
    await writer.close();
    const text = readFileSync(path, "utf8");
    expect(text).not.toContain("message 1");
    expect(text).toContain('"data":{"redacted":');
    expect(parseTrace(text).some((line) => line.state === "OPEN.active")).toBe(true);
  });

  it("reports a file it could not write when closed, never inside the connection", async () => {
    const writer = traceWriter(join(directory, "no-such-directory", "x.jsonl"));
    converse(writer.record, 1);
    await expect(writer.close()).rejects.toThrow(/could not write the trace/);
  });
});
