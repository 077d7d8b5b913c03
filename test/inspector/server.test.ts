/**
 * The offline inspector without a browser: the page assets it serves, and the live feed (a
 * WebSocket served by wsmachine) reporting an outside client's connection to the echo server —
 * lifecycle from the XState inspection observer, frames from the frame trace.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
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
    for (const asset of ["app.js", "style.css", "graph.json"]) expect((await fetch(`${inspector.url}${asset}`)).status).toBe(200);
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

describe("InspectorHub", () => {
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
