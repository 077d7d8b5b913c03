/** The flight recorder's JSON form: base64, events both ways, redaction, parsing, and the facade's hooks. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  AcceptConnection,
  BytesMessage,
  CloseConnection,
  ConnectionType,
  Message,
  PerMessageDeflate,
  Ping,
  Pong,
  RejectConnection,
  RejectData,
  Request,
  TextMessage,
  WSConnection,
  eventJson,
  parseTrace,
  replayTrace,
  traceLine,
  type Event,
  type TraceEntry,
} from "../../src/index.js";
import { decodeBase64, encodeBase64, eventFromJson } from "../../src/trace/json.js";

describe("trace JSON", () => {
  it("base64 round-trips any bytes and agrees with Node's encoder", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const text = encodeBase64(bytes);
        expect(text).toBe(Buffer.from(bytes).toString("base64"));
        expect(decodeBase64(text)).toEqual(bytes);
      }),
    );
    expect(() => decodeBase64("ab$d")).toThrow(/not base64/);
  });

  it("rebuilds every sendable and receivable event from its JSON", () => {
    const events: Event[] = [
      new Request({ host: "h", target: "/t", subprotocols: ["chat"], extensions: [new PerMessageDeflate({ clientNoContextTakeover: true }), "x-raw"], extraHeaders: [["origin", "o"]] }),
      new AcceptConnection({ subprotocol: "chat", extraHeaders: [["x", "y"]] }),
      new RejectConnection({ statusCode: 403, headers: [["a", "b"]], hasBody: true }),
      new RejectData({ data: Uint8Array.of(1, 2), bodyFinished: false }),
      new CloseConnection({ code: 1001, reason: "away" }),
      new TextMessage({ data: "héllo", frameFinished: true, messageFinished: false }),
      new BytesMessage({ data: Uint8Array.of(0, 255) }),
      new Message({ data: "generic" }),
      new Ping({ payload: Uint8Array.of(9) }),
      new Pong({ payload: new Uint8Array(0) }),
    ];
    for (const event of events) {
      const json = JSON.parse(JSON.stringify(eventJson(event)));
      const rebuilt = eventFromJson(json, (name, offer) => {
        expect(name).toBe("permessage-deflate");
        expect(offer).toBe("client_no_context_takeover; client_max_window_bits");
        return new PerMessageDeflate({ clientNoContextTakeover: true });
      });
      expect(rebuilt.constructor).toBe(event.constructor);
      expect(eventJson(rebuilt)).toEqual(json);
    }
  });

  it("redacts payloads to their length, and a redacted trace refuses to replay", () => {
    expect(eventJson(new TextMessage({ data: "secret" }), true)).toMatchObject({ data: { redacted: 6 } });
    expect(eventJson(new Ping({ payload: Uint8Array.of(1, 2, 3) }), true)).toEqual({ type: "Ping", payload: { redacted: 3 } });
    const lines: string[] = [];
    const client = new WSConnection(ConnectionType.CLIENT, { record: (entry) => lines.push(JSON.stringify(traceLine(entry, { at: 1, redact: true }))) });
    client.send(new Request({ host: "h", target: "/" }));
    expect(lines[1]).toContain('"data":[{"redacted":');
    expect(lines[1]).not.toContain("R0VU"); // "GET" in base64
    expect(() => replayTrace(lines.join("\n"))).toThrow(/redact/);
  });

  it("parseTrace says which line is wrong", () => {
    expect(() => parseTrace('{"type":"start","version":1}\nnot json')).toThrow(/line 2 is not JSON/);
    expect(() => parseTrace('{"type":"receive"}')).toThrow(/begins with its "start" line/);
    expect(() => parseTrace('{"type":"start","version":7}')).toThrow(/version 7/);
  });
});

describe("WSConnection record option", () => {
  it("reports creation, sends with their bytes, chunks as received, events, drains and errors, with the state after each", () => {
    const entries: TraceEntry[] = [];
    const client = new WSConnection(ConnectionType.CLIENT, { record: (entry) => entries.push(entry) });
    const request = client.send(new Request({ host: "h", target: "/" }));
    const server = new WSConnection(ConnectionType.SERVER);
    server.receiveData(request);
    [...server.events()];
    const response = server.send(new AcceptConnection());
    client.receiveData(response);
    [...client.events()];
    expect(() => client.send(new AcceptConnection())).toThrow();
    const frame = server.send(new TextMessage({ data: "hi" }));
    client.receiveData(frame);
    const events = [...client.events()];
    expect(events).toHaveLength(1);
    expect(entries.map((entry) => `${entry.type} ${entry.state}`)).toEqual([
      "start CONNECTING.readyToRequest",
      "send CONNECTING.awaitingResponse",
      "receive OPEN.active",
      "event OPEN.active",
      "drained OPEN.active",
      "send OPEN.active",
      "receive OPEN.active",
      "event OPEN.active",
      "drained OPEN.active",
    ]);
    const sent = entries[1] as Extract<TraceEntry, { type: "send" }>;
    expect(sent.data).toEqual([request]);
    expect(entries[5]).toMatchObject({ type: "send", data: null, error: { name: "LocalProtocolError" } });
    const received = entries[6] as Extract<TraceEntry, { type: "receive" }>;
    // A copy, as received: not the caller's array, which the decoder may unmask in place.
    expect(received.data).toEqual(frame);
    expect(received.data).not.toBe(frame);
  });

  it("sendParts is recorded as the parts it returns", () => {
    const entries: TraceEntry[] = [];
    const server = new WSConnection(ConnectionType.SERVER, { record: (entry) => entries.push(entry) });
    const client = new WSConnection(ConnectionType.CLIENT);
    server.receiveData(client.send(new Request({ host: "h", target: "/" })));
    [...server.events()];
    client.receiveData(server.send(new AcceptConnection()));
    const payload = new Uint8Array(500).fill(7);
    const parts = server.sendParts(new BytesMessage({ data: payload }));
    expect(entries[entries.length - 1]).toMatchObject({ type: "send", data: parts });
  });
});
