/**
 * Bun's built-in WebSocket server (uWebSockets in native code), run by the `bun` binary from the
 * `bun` devDependency: what a runtime with the protocol in native code reaches on this machine.
 * Same stdout/signal protocol as ./lifecycle.ts (which this file cannot share: it is Node-typed).
 * Typed with a minimal declaration of the parts of Bun's API it uses, since bun-types is not a
 * dependency.
 */
interface BunSocket {
  send(data: string | Uint8Array): number;
}
interface BunServer {
  port: number;
  upgrade(request: Request): boolean;
}
declare const Bun: {
  serve(options: {
    hostname: string;
    port: number;
    fetch(request: Request, server: BunServer): Response | undefined;
    websocket: {
      perMessageDeflate: boolean;
      message(socket: BunSocket, message: string | Uint8Array): void;
    };
  }): BunServer;
  gc(force: boolean): void;
};

const deflate = process.argv.includes("--deflate");
const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch(request, self) {
    return self.upgrade(request) ? undefined : new Response("upgrade required", { status: 426 });
  },
  websocket: {
    perMessageDeflate: deflate,
    message(socket, message) {
      socket.send(message);
    },
  },
});
process.stdout.write(`listening ${server.port}\n`);
process.stdin.on("data", (data: Buffer) => {
  if (!data.toString().includes("gc")) return;
  Bun.gc(true);
  process.stdout.write(`gc ${JSON.stringify(process.memoryUsage())}\n`);
});
process.on("SIGTERM", () => process.exit(0));
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
