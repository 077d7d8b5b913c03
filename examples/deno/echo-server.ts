/**
 * `npm run echo-server:deno -- [--port N] [--host H] [--no-deflate] [--max-message-size BYTES]`:
 * the echo server of `npm run echo-server` on wsmachine/deno (Deno's own TCP API). Prints
 * `listening ws://HOST:PORT/`, echoes every message, runs until SIGINT or SIGTERM.
 */
import { createWebSocketServer } from "../../src/deno/index.js";
import { echoServerMain } from "../portable-echo.js";

declare const Deno: {
  args: string[];
  exit(code: number): never;
  addSignalListener(signal: "SIGINT" | "SIGTERM", handler: () => void): void;
};

await echoServerMain(Deno.args, {
  createWebSocketServer: (options) => createWebSocketServer(options),
  exit: (code) => Deno.exit(code),
  onSignal: (signal, handler) => Deno.addSignalListener(signal, handler),
});
