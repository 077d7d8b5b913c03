/**
 * `npm start`: an echo server and a client in one process, over a real loopback socket. The
 * client sends text, binary and a ping, then closes; both sides print their connection's
 * lifecycle transitions as the statechart takes them (a subscription to `connection.actor`).
 * Exits by itself.
 */
import { ConnectionState, type ConnectionActor } from "../src/index.js";
import { connect, createWebSocketServer, type WebSocketEndpoint } from "../src/node/index.js";

/** Print every change of the statechart's top-level state, e.g. "[server] CONNECTING → OPEN". */
function watchLifecycle(label: string, actor: ConnectionActor): void {
  let previous = topLevel(actor.getSnapshot().value);
  actor.subscribe((snapshot) => {
    const state = topLevel(snapshot.value);
    if (state !== previous) console.log(`[${label}] ${previous} → ${state}`);
    previous = state;
  });
}

function topLevel(value: unknown): ConnectionState {
  return (typeof value === "string" ? value : Object.keys(value as object)[0]) as ConnectionState;
}

function describe(data: string | Uint8Array): string {
  return typeof data === "string" ? `text ${JSON.stringify(data)}` : `binary [${Array.from(data).join(", ")}]`;
}

async function main(): Promise<void> {
  const server = createWebSocketServer({ perMessageDeflate: true }, (endpoint, request) => {
    console.log(`[server] accepted ${request.target} (extensions: ${endpoint.extensions.map((e) => e.name).join(", ") || "none"})`);
    endpoint.on("message", (data) => {
      console.log(`[server] echoing ${describe(data)}`);
      endpoint.send(data);
    });
    endpoint.on("ping", () => console.log("[server] ping received, pong sent"));
    endpoint.on("closing", (code, reason) => console.log(`[server] close frame received: ${code} ${JSON.stringify(reason)}`));
  });
  server.on("handshake", (endpoint) => watchLifecycle("server", endpoint.connection.actor));
  await server.listen(0, "127.0.0.1");
  console.log(`[server] listening on ${server.url}`);

  const client = await connect(`${server.url}demo`, {
    onEndpoint: (endpoint) => watchLifecycle("client", endpoint.connection.actor),
  });
  console.log(`[client] open (extensions: ${client.extensions.map((e) => e.name).join(", ") || "none"})`);

  const replies: Array<string | Uint8Array> = [];
  let wake: (() => void) | null = null;
  client.on("message", (data) => {
    console.log(`[client] received ${describe(data)}`);
    replies.push(data);
    wake?.();
  });
  const nextReply = (): Promise<string | Uint8Array> =>
    new Promise((resolve) => {
      if (replies.length > 0) return resolve(replies.shift()!);
      wake = () => {
        wake = null;
        resolve(replies.shift()!);
      };
    });

  client.send("Hello, wsmachine — ünïcödé ✓");
  await nextReply();
  client.send(Uint8Array.of(1, 2, 3, 255));
  await nextReply();

  const pong = new Promise<Uint8Array>((resolve) => client.once("pong", resolve));
  client.ping("are you there?");
  console.log(`[client] pong received: ${JSON.stringify(new TextDecoder().decode(await pong))}`);

  client.close(1000, "demo finished");
  const info = await client.closed;
  console.log(`[client] closed: code ${info.code}, reason ${JSON.stringify(info.reason)}, clean: ${info.wasClean}`);

  await server.close();
  console.log("[server] stopped");
}

await main();
