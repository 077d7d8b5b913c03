/**
 * `npm run echo-server -- [--port N] [--host H] [--no-deflate] [--max-message-size BYTES]`
 * (default: the library's maxMessageSize, 64 MiB; the server's other limits keep their defaults):
 * an echo server on wsmachine/node. Prints `listening ws://HOST:PORT/` once it accepts
 * connections, then echoes every text and binary message, answers pings (automatically),
 * completes closing handshakes (echoing the client's code), and runs until SIGINT or SIGTERM.
 */
import { parseArgs } from "node:util";
import { DEFAULT_MAX_MESSAGE_SIZE } from "../codec/constants.js";
import { createWebSocketServer } from "../src/node/index.js";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "9001" },
    host: { type: "string", default: "127.0.0.1" },
    "no-deflate": { type: "boolean", default: false },
    "max-message-size": { type: "string", default: String(DEFAULT_MAX_MESSAGE_SIZE) },
  },
});

const port = Number(values.port);
const maxMessageSize = Number(values["max-message-size"]);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port must be a port number, not ${values.port}`);
  process.exit(2);
}
if (!Number.isInteger(maxMessageSize) || maxMessageSize <= 0) {
  console.error(`--max-message-size must be a positive number of bytes, not ${values["max-message-size"]}`);
  process.exit(2);
}

const server = createWebSocketServer({ perMessageDeflate: !values["no-deflate"], maxMessageSize }, (endpoint) => {
  endpoint.on("message", (data) => {
    endpoint.send(data);
  });
  // A misbehaving client is its own problem: the endpoint already closed with the right code.
  endpoint.on("error", () => {});
});
server.on("clientError", () => {});

const address = await server.listen(port, values.host);
const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
console.log(`listening ws://${host}:${address.port}/`);

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  void server.close().then(() => process.exit(0));
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
