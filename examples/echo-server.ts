/**
 * `npm run echo-server -- [--port N] [--host H] [--no-deflate] [--max-message-size BYTES] [--h2c | --tls]`
 * (default: the library's maxMessageSize, 64 MiB; the server's other limits keep their defaults):
 * an echo server on wsmachine/node. Prints `listening ws://HOST:PORT/` (`wss://` with --tls)
 * once it accepts connections, then echoes every text and binary message, answers pings
 * (automatically), completes closing handshakes (echoing the client's code), and runs until
 * SIGINT or SIGTERM.
 *
 * --h2c: WebSockets over cleartext HTTP/2 with prior knowledge (RFC 8441), HTTP/2 only.
 * --tls: over TLS with a self-signed certificate made at start (by the openssl command), h2
 * (RFC 8441) and HTTP/1.1 upgrades on the same port.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { DEFAULT_MAX_MESSAGE_SIZE } from "../codec/constants.js";
import { createHttp2WebSocketServer, createWebSocketServer, type WebSocketEndpoint } from "../src/node/index.js";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "9001" },
    host: { type: "string", default: "127.0.0.1" },
    "no-deflate": { type: "boolean", default: false },
    "max-message-size": { type: "string", default: String(DEFAULT_MAX_MESSAGE_SIZE) },
    h2c: { type: "boolean", default: false },
    tls: { type: "boolean", default: false },
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

if (values.h2c && values.tls) {
  console.error("--h2c and --tls exclude each other: --h2c is cleartext HTTP/2, --tls serves h2 and HTTP/1.1 over TLS");
  process.exit(2);
}

/** A self-signed certificate for localhost and 127.0.0.1, valid one day, made with the openssl command. */
function selfSignedCertificate(): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), "wsmachine-echo-"));
  try {
    execFileSync(
      "openssl",
      ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=localhost",
        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem")],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    return { key: readFileSync(join(dir, "key.pem"), "utf8"), cert: readFileSync(join(dir, "cert.pem"), "utf8") };
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === "ENOENT";
    console.error(
      missing
        ? "--tls makes a self-signed certificate with the openssl command, which was not found: install OpenSSL (apt-get install openssl)"
        : `--tls: openssl could not make a self-signed certificate: ${String((error as { stderr?: unknown }).stderr ?? error)}`,
    );
    process.exit(2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const echo = (endpoint: WebSocketEndpoint): void => {
  // Text arrives as its validated UTF-8 bytes (textAs: "bytes") and goes back as text: an echo
  // never needs the string, so none is made.
  endpoint.on("message", (data, isBinary) => {
    endpoint.send(data, { binary: isBinary });
  });
  // A misbehaving client is its own problem: the endpoint already closed with the right code.
  endpoint.on("error", () => {});
};
const options = { perMessageDeflate: !values["no-deflate"], maxMessageSize, textAs: "bytes" as const };
const server =
  values.h2c || values.tls
    ? createHttp2WebSocketServer({ ...options, tls: values.tls ? selfSignedCertificate() : undefined }, echo)
    : createWebSocketServer(options, echo);
server.on("clientError", () => {});

await server.listen(port, values.host);
console.log(`listening ${server.url}`);

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  void server.close().then(() => process.exit(0));
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
