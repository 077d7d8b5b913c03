/**
 * The baseline: an echo server on ws with its native bufferutil (loaded by ws on its own when
 * installed; this file fails loudly if it is not, so that the baseline is never the slower ws).
 * perMessageDeflate is off unless `--deflate`, as ws's default; ws's other defaults are kept.
 */
import { createRequire } from "node:module";
import { WebSocketServer } from "ws";
import { announce, deflate } from "./lifecycle.js";

// ws requires bufferutil in a try/catch and silently falls back to JS: check that it loads.
createRequire(import.meta.url)("bufferutil");

const server: WebSocketServer = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: deflate }, () => {
  announce(server.address());
});
server.on("connection", (socket) => {
  socket.on("message", (data, isBinary) => {
    socket.send(data, { binary: isBinary });
  });
  socket.on("error", () => {});
});
