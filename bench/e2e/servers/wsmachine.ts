/**
 * The contender under test: an echo server on `createWebSocketServer` from wsmachine/node, written
 * as an application would (the example in examples/echo-server.ts): every message is sent back
 * as it was received, text as text, binary as binary. Default server limits and timeouts.
 */
import { createWebSocketServer } from "../../../src/node/index.js";
import { announce, deflate } from "./lifecycle.js";

const server = createWebSocketServer({ perMessageDeflate: deflate }, (endpoint) => {
  endpoint.on("message", (data) => {
    endpoint.send(data);
  });
  // A client that breaks the protocol is closed with the right code already; nothing to add.
  endpoint.on("error", () => {});
});
server.on("clientError", () => {});
announce(await server.listen(0, "127.0.0.1"));
