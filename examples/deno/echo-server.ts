/**
 * `npm run echo-server:deno -- [--port N] [--host H] [--no-deflate] [--max-message-size BYTES]`:
 * the echo server of `npm run echo-server` on wsmachine/deno (Deno's own TCP API). Prints
 * `listening ws://HOST:PORT/`, echoes every message, runs until SIGINT or SIGTERM.
 */
import { createWebSocketServer } from "../../src/deno/index.js";
import { parseEchoServerArgs } from "../portable-echo.js";

declare const Deno: {
  args: string[];
  exit(code: number): never;
  addSignalListener(signal: "SIGINT" | "SIGTERM", handler: () => void): void;
};

const args = parseEchoServerArgs(Deno.args);
if (typeof args === "string") {
  console.error(args);
  Deno.exit(2);
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
  void server.close().then(() => Deno.exit(0));
};
Deno.addSignalListener("SIGINT", stop);
Deno.addSignalListener("SIGTERM", stop);
