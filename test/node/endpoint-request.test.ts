/**
 * `endpoint.request` for the connection's life over loopback: from OPEN on, the endpoint keeps
 * the upgrade request packed and only weakly the Request itself (src/runtime/endpoint-base.ts),
 * so the Request must stay the same object while the application holds it, and come back equal,
 * every field, once nothing did.
 */
import * as v8 from "node:v8";
import * as vm from "node:vm";
import { afterAll, describe, expect, it } from "vitest";
import type { Request } from "../../src/index.js";
import { connect, createWebSocketServer, type WebSocketEndpoint, type WebSocketServer } from "../../src/node/index.js";
import { eventually } from "./helpers.js";

v8.setFlagsFromString("--expose-gc");
const collect = vm.runInNewContext("gc") as () => void;

const servers: WebSocketServer[] = [];
afterAll(async () => {
  for (const server of servers) await server.close();
});

const HEADERS = { "X-Token": "a token long enough to be sliced out of the head", Origin: "http://example.test" };

/** A server whose handler sees the request through `onRequest`, and a client connected to it. */
async function open(onRequest: (request: Request) => void): Promise<{ endpoint: WebSocketEndpoint }> {
  let endpoint: WebSocketEndpoint | null = null;
  const server = createWebSocketServer({ subprotocols: ["chat.v2"] }, (opened) => {
    endpoint = opened;
    opened.on("message", (data) => opened.send(data));
  });
  servers.push(server);
  const { port } = await server.listen(0, "127.0.0.1");
  server.on("connection", (_endpoint, request) => onRequest(request));
  const client = await connect(`ws://127.0.0.1:${port}/room/42?x=1`, { subprotocols: ["chat.v1", "chat.v2"], headers: HEADERS });
  // A message each way: the connection is open and past its handshake on both sides.
  const echoed = new Promise((resolve) => client.once("message", resolve));
  client.send("hello");
  await echoed;
  await eventually(() => endpoint !== null, "the server's endpoint");
  return { endpoint: endpoint! };
}

function expectEveryField(request: Request | null, port: string | undefined): void {
  expect(request).not.toBeNull();
  expect(request!.target).toBe("/room/42?x=1");
  expect(request!.host).toBe(`127.0.0.1:${port}`);
  expect(request!.subprotocols).toEqual(["chat.v1", "chat.v2"]);
  expect(request!.extensions).toEqual(["permessage-deflate; client_max_window_bits"]); // the client's default offer
  expect(request!.extraHeaders).toContainEqual(["x-token", HEADERS["X-Token"]]);
  expect(request!.extraHeaders).toContainEqual(["origin", HEADERS.Origin]);
  expect(request!.extraHeaders.map(([name]) => name)).toEqual(expect.arrayContaining(["upgrade", "connection", "sec-websocket-key", "sec-websocket-version"]));
}

describe("endpoint.request after the connection opened", () => {
  it("is the very Request the 'connection' listener got, for as long as the application holds it", async () => {
    let seen: Request | null = null;
    const { endpoint } = await open((request) => (seen = request));
    for (let i = 0; i < 3; i++) {
      collect();
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(endpoint.request).toBe(seen);
    expectEveryField(endpoint.request, seen!.host.split(":")[1]);
    endpoint.close();
  });

  it("comes back equal, every field, once nothing held it; then stays one object while held", async () => {
    let weak: WeakRef<Request> | null = null;
    let before = "";
    const { endpoint } = await open((request) => {
      weak = new WeakRef(request);
      before = JSON.stringify(request);
    });
    // WeakRef targets live to the end of the job that made or read them: collect between turns.
    for (let i = 0; i < 10 && weak!.deref() !== undefined; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      collect();
    }
    expect(weak!.deref()).toBeUndefined(); // the endpoint and its core no longer hold the Request
    const rebuilt = endpoint.request;
    expect(JSON.stringify(rebuilt)).toBe(before);
    expectEveryField(rebuilt, rebuilt!.host.split(":")[1]);
    expect(endpoint.request).toBe(rebuilt);
    endpoint.close();
  });
});
