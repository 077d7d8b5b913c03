/**
 * A hostile or sloppy peer on a raw TCP socket, for the Node endpoint's bounds tests: it does the
 * opening handshake with the core (a client `WSConnection`, so the request and the response
 * check are real) and then writes whatever bytes a test crafts, at whatever pace.
 */
import * as net from "node:net";
import { AcceptConnection, ConnectionState, ConnectionType, PerMessageDeflate, Request, WSConnection } from "../../src/index.js";

export interface RawPeer {
  socket: net.Socket;
  /** Bytes the server sent after its handshake response. */
  received(): Uint8Array;
  /** Resolves when the server ended its side of TCP (FIN), or the socket closed. */
  closed: Promise<void>;
  /** Bytes this peer wrote so far. */
  written(): number;
}

/** Connect and complete the opening handshake (offering permessage-deflate when `deflate`). */
export async function openRawPeer(port: number, options: { deflate?: boolean } = {}): Promise<RawPeer> {
  const connection = new WSConnection(ConnectionType.CLIENT);
  // Half-open allowed: a hostile peer keeps writing after the server's FIN.
  const socket = net.connect({ host: "127.0.0.1", port, allowHalfOpen: true });
  socket.on("error", () => {});
  const closed = new Promise<void>((resolve) => {
    socket.once("end", () => resolve());
    socket.once("close", () => resolve());
  });
  const after: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => {
      socket.write(connection.send(new Request({ host: "127.0.0.1", target: "/", extensions: options.deflate === true ? [new PerMessageDeflate()] : [] })));
    });
    const onData = (chunk: Buffer): void => {
      if (connection.state === (ConnectionState.OPEN as ConnectionState)) {
        after.push(chunk);
        return;
      }
      connection.receiveData(new Uint8Array(chunk));
      if (connection.state !== ConnectionState.OPEN) return;
      // Bytes after the 101 response in the same chunk are the server's first frames: the
      // connection holds them; this peer does not read frames, it only keeps the raw bytes.
      for (const event of connection.events()) if (!(event instanceof AcceptConnection)) break;
      resolve();
    };
    socket.on("data", onData);
    socket.once("close", () => reject(new Error("the server closed before the handshake completed")));
  });
  return {
    socket,
    closed,
    received: () => new Uint8Array(Buffer.concat(after)),
    written: () => socket.bytesWritten,
  };
}

/** A raw TCP connection with no handshake at all. */
export function openRawSocket(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port, allowHalfOpen: true }, () => resolve(socket));
    socket.once("error", reject);
  });
}

/**
 * Write `chunk` as fast as the server lets us, until the socket closes or `limitMs` passes.
 * Returns the bytes written by the flood.
 */
export async function flood(socket: net.Socket, limitMs: number, chunk = Buffer.alloc(64 * 1024, 0x61)): Promise<number> {
  const deadline = Date.now() + limitMs;
  let written = 0;
  while (!socket.destroyed && socket.writable && Date.now() < deadline) {
    written += chunk.length;
    if (!socket.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          socket.off("drain", done);
          socket.off("close", done);
          resolve();
        };
        const timer = setTimeout(done, Math.max(1, deadline - Date.now()));
        socket.once("drain", done);
        socket.once("close", done);
      });
    }
  }
  return written;
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
