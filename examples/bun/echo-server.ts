/**
 * `npm run echo-server:bun -- [--port N] [--host H] [--no-deflate] [--max-message-size BYTES]`:
 * the echo server of `npm run echo-server` on wsmachine/bun (Bun's own TCP API). Prints
 * `listening ws://HOST:PORT/`, echoes every message, runs until SIGINT or SIGTERM.
 */
import { createWebSocketServer } from "../../src/bun/index.js";
import { parseEchoServerArgs } from "../portable-echo.js";

declare const Bun: { argv: string[] };

const args = parseEchoServerArgs(Bun.argv.slice(2));
if (typeof args === "string") {
  console.error(args);
  process.exit(2);
}
const server = createWebSocketServer({ perMessageDeflate: args.deflate, maxMessageSize: args.maxMessageSize }, (endpoint) => {
  endpoint.on("message", (data) => {
    endpoint.send(data);
  });
  // A misbehaving client is its own problem: the endpoint already closed with the right code.
  endpoint.on("error", () => {});
});
server.on("clientError", () => {});
await server.listen(args.port, args.host);
console.log(`listening ${server.url}`);

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  void server.close().then(() => process.exit(0));
};
// Bun's own process object (a Bun global, not Node compatibility).
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
