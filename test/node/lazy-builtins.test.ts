/**
 * wsmachine/node loads node:tls, node:http2 and node:zlib on first use, and node:http never (src/node/builtins.ts):
 * a process that imports the entry and runs a plain WebSocket server, one connection open and a
 * message echoed, never loads them. Checked in a child process (this one has them loaded), by
 * `process.moduleLoadList`, Node's record of the builtins it loaded.
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../", import.meta.url));

const script = `
import * as net from "node:net";
const { createWebSocketServer } = await import("./src/node/index.ts");
const server = createWebSocketServer({}, (endpoint) => endpoint.on("message", (data) => endpoint.send(data)));
const { port } = await server.listen(0);
const socket = net.connect(port, "127.0.0.1");
const next = () => new Promise((resolve) => socket.once("data", resolve));
socket.write("GET / HTTP/1.1\\r\\nHost: x\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade\\r\\n" +
  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\\r\\nSec-WebSocket-Version: 13\\r\\n\\r\\n");
await next();
// A masked text frame "hi", echoed.
socket.write(new Uint8Array([0x81, 0x82, 1, 2, 3, 4, 0x68 ^ 1, 0x69 ^ 2]));
const echo = await next();
const loaded = process.moduleLoadList.filter((name) => /^NativeModule (tls|_tls_wrap|http2|internal\\/http2\\/core|zlib|http|_http_server)$/.test(name));
console.log(JSON.stringify({ echo: [...echo], clients: server.clients.size, loaded }));
socket.destroy();
await server.close();
`;

describe("wsmachine/node builtins loaded on first use", () => {
  it("a plain server with an open connection never loads node:tls, node:http2, node:zlib or node:http", () => {
    const output = execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { cwd: root, encoding: "utf8", timeout: 20_000 });
    const result = JSON.parse(output.trim().split("\n").pop()!) as { echo: number[]; clients: number; loaded: string[] };
    expect(result.echo).toEqual([0x81, 0x02, 0x68, 0x69]);
    expect(result.clients).toBe(1);
    expect(result.loaded).toEqual([]);
  });
});
