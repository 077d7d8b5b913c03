/**
 * The contender under test: an echo server on `createWebSocketServer` from wsmachine/node, written
 * as an application would (the example in examples/echo-server.ts): every message is sent back
 * as it was received, text as text, binary as binary. Default server limits and timeouts. Text
 * is received as its validated UTF-8 bytes (`textAs: "bytes"`) and sent back as text, as an
 * echo or a relay would do (ws hands its applications text as a Buffer the same way).
 */
import { createWebSocketServer } from "../../../src/node/index.js";
import { announce, deflate } from "./lifecycle.js";

const server = createWebSocketServer({ perMessageDeflate: deflate, textAs: "bytes" }, (endpoint) => {
  endpoint.on("message", (data, isBinary) => {
    endpoint.send(data, { binary: isBinary });
  });
  // A client that breaks the protocol is closed with the right code already; nothing to add.
  endpoint.on("error", () => {});
});
server.on("clientError", () => {});
announce(await server.listen(0, "127.0.0.1"));
