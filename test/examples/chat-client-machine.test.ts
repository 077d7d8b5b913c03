/**
 * The chat client machine (examples/chat-client-machine.ts) against a real echo server on
 * 127.0.0.1 (wsmachine/node's), over real sockets: it connects, chats, reconnects when the server
 * drops it, keeps a heartbeat (and reconnects when pongs stop), and closes cleanly.
 */
import { afterEach, describe, expect, it } from "vitest";
import { createActor, waitFor, type SnapshotFrom } from "xstate";
import { chatClientMachine, type ChatClientInput } from "../../examples/chat-client-machine.js";
import { createWebSocketServer, type WebSocketEndpoint, type WebSocketServer } from "../../src/node/index.js";

type ChatSnapshot = SnapshotFrom<typeof chatClientMachine>;

const running: Array<{ stop(): unknown }> = [];
const servers: WebSocketServer[] = [];

afterEach(async () => {
  for (const actor of running.splice(0)) actor.stop();
  for (const server of servers.splice(0)) await server.close();
});

/** An echo server; `endpoints` are its connections, newest last. */
async function echoServer(options: { autoPong?: boolean } = {}) {
  const endpoints: WebSocketEndpoint[] = [];
  const server = createWebSocketServer({ autoPong: options.autoPong }, (endpoint) => {
    endpoints.push(endpoint);
    endpoint.on("message", (data) => endpoint.send(data));
    endpoint.on("error", () => {});
  });
  servers.push(server);
  const address = await server.listen(0, "127.0.0.1");
  return { server, endpoints, port: address.port };
}

function chatClient(input: ChatClientInput) {
  const actor = createActor(chatClientMachine, { input }).start();
  running.push(actor);
  return actor;
}

const isOpen = (snapshot: ChatSnapshot) => snapshot.matches({ session: "open" });
const FAST = { heartbeatInterval: 60_000, initialDelay: 10, maxDelay: 40 } as const;

describe("chat client machine (embedding connectionMachine over a node:net socket)", () => {
  it("connects, sends chat messages and gets their echoes", async () => {
    const { port } = await echoServer();
    const client = chatClient({ host: "127.0.0.1", port, ...FAST });
    // Sent before the connection is open: queued, then sent in order once it is.
    client.send({ type: "chat.send", text: "early bird" });
    await waitFor(client, isOpen, { timeout: 3000 });
    client.send({ type: "chat.send", text: "hello" });
    client.send({ type: "chat.send", text: "ünïcödé ✓" });
    const done = await waitFor(client, (snapshot) => snapshot.context.received.length === 3, { timeout: 3000 });
    expect(done.context.received).toEqual(["early bird", "hello", "ünïcödé ✓"]);
    expect(done.context.sessions).toBe(1);
  });

  it("survives the server dropping the connection: reconnects with backoff and chats again", async () => {
    const { port, endpoints } = await echoServer();
    const client = chatClient({ host: "127.0.0.1", port, ...FAST });
    await waitFor(client, isOpen, { timeout: 3000 });
    endpoints[0]!.terminate(); // TCP gone without a closing handshake
    await waitFor(client, (snapshot) => snapshot.matches("reconnecting"), { timeout: 3000 });
    client.send({ type: "chat.send", text: "sent while reconnecting" });
    const back = await waitFor(client, (snapshot) => isOpen(snapshot) && snapshot.context.sessions === 2, { timeout: 3000 });
    expect(back.context.lastDrop).toBeNull();
    const echoed = await waitFor(client, (snapshot) => snapshot.context.received.includes("sent while reconnecting"), { timeout: 3000 });
    expect(echoed.context.failures).toBe(0);
    expect(endpoints).toHaveLength(2);
  });

  it("answers a server-initiated close, then reconnects", async () => {
    const { port, endpoints } = await echoServer();
    const client = chatClient({ host: "127.0.0.1", port, ...FAST });
    await waitFor(client, isOpen, { timeout: 3000 });
    endpoints[0]!.close(1012, "service restart");
    const info = await endpoints[0]!.closed;
    expect(info).toMatchObject({ code: 1012, wasClean: true });
    await waitFor(client, (snapshot) => isOpen(snapshot) && snapshot.context.sessions === 2, { timeout: 3000 });
  });

  it("backs off while the server is down, and gives up after maxAttempts", async () => {
    const { port, server } = await echoServer();
    await server.close();
    servers.length = 0;
    const started = Date.now();
    const client = chatClient({ host: "127.0.0.1", port, heartbeatInterval: 60_000, initialDelay: 20, maxDelay: 80, maxAttempts: 4 });
    const failed = await waitFor(client, (snapshot) => snapshot.matches("failed"), { timeout: 3000 });
    // Delays between the 4 attempts: 20, 40, 80 ms (doubling, capped).
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(failed.context.failures).toBe(4);
    expect(failed.context.lastDrop).toMatch(/ECONNREFUSED/);
    expect(failed.status).toBe("done");
  });

  it("heartbeats: pings every interval and counts the pongs", async () => {
    const { port } = await echoServer();
    const client = chatClient({ host: "127.0.0.1", port, ...FAST, heartbeatInterval: 25, heartbeatTimeout: 1000 });
    const beating = await waitFor(client, (snapshot) => snapshot.context.pongsReceived >= 3, { timeout: 3000 });
    expect(beating.context.pingsSent).toBeGreaterThanOrEqual(3);
    expect(beating.context.sessions).toBe(1);
  });

  it("reconnects when the pong does not come", async () => {
    const { port, endpoints } = await echoServer({ autoPong: false });
    const client = chatClient({ host: "127.0.0.1", port, ...FAST, heartbeatInterval: 20, heartbeatTimeout: 60 });
    const dropped = await waitFor(client, (snapshot) => snapshot.context.lastDrop !== null, { timeout: 3000 });
    expect(dropped.context.lastDrop).toBe("no pong within the heartbeat timeout");
    expect(dropped.context.pongsReceived).toBe(0);
    await waitFor(client, (snapshot) => isOpen(snapshot) && snapshot.context.sessions === 2, { timeout: 3000 });
    expect(endpoints.length).toBeGreaterThanOrEqual(2);
  });

  it("closes cleanly: closing handshake, the server ends TCP, the machine is done", async () => {
    const { port, endpoints } = await echoServer();
    const client = chatClient({ host: "127.0.0.1", port, ...FAST });
    await waitFor(client, isOpen, { timeout: 3000 });
    client.send({ type: "chat.close" });
    const closed = await waitFor(client, (snapshot) => snapshot.status === "done", { timeout: 3000 });
    expect(closed.value).toBe("closed");
    expect(await endpoints[0]!.closed).toMatchObject({ code: 1000, reason: "bye", wasClean: true });
  });
});
