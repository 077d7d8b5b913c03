/**
 * `npm run echo-server:bun -- [--port N] [--host H] [--no-deflate] [--max-message-size BYTES]`:
 * the echo server of `npm run echo-server` on wsmachine/bun (Bun's own TCP API). Prints
 * `listening ws://HOST:PORT/`, echoes every message, runs until SIGINT or SIGTERM.
 */
import { createWebSocketServer } from "../../src/bun/index.js";
import { echoServerMain } from "../portable-echo.js";

declare const Bun: { argv: string[] };

await echoServerMain(Bun.argv.slice(2), {
  createWebSocketServer: (options) => createWebSocketServer(options),
  exit: (code) => process.exit(code),
  // Bun's own process object (a Bun global, not Node compatibility).
  onSignal: (signal, handler) => process.on(signal, handler),
});
