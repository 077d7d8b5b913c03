/** Input bytes for the parse workloads, and wsmachine connections opened by a real handshake. */
import { AcceptConnection, ConnectionType, Request, WSConnection, type ConnectionOptions, type Extension } from "../../../src/index.js";

export const SOCKET_CHUNK = 64 * 1024;

/**
 * The wire bytes of a sequence of frames, as a socket delivers them: `chunkSize` chunks over one
 * backing buffer. Parsing unmasks in place, so `restore()` (untimed, in a contender's `prepare`)
 * rewrites the pristine bytes before every pass. Contenders of one workload share one instance.
 */
export class WireInput {
  readonly chunks: Uint8Array[] = [];
  readonly length: number;
  private readonly pristine: Uint8Array;
  private readonly working: Uint8Array;

  constructor(frames: Iterable<Uint8Array>, total: number, chunkSize = SOCKET_CHUNK) {
    this.length = total;
    this.pristine = new Uint8Array(total);
    let at = 0;
    for (const frame of frames) {
      this.pristine.set(frame, at);
      at += frame.length;
    }
    if (at !== total) throw new Error(`wire input: ${at} bytes written, ${total} announced`);
    this.working = this.pristine.slice();
    for (let start = 0; start < total; start += chunkSize) {
      this.chunks.push(this.working.subarray(start, Math.min(start + chunkSize, total)));
    }
  }

  /** Buffer views of the chunks (same memory), for contenders that want Buffers (ws). */
  buffers(): Buffer[] {
    return this.chunks.map((chunk) => Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  }

  restore(): void {
    this.working.set(this.pristine);
  }
}

/** A client and a server `WSConnection`, both OPEN after a complete opening handshake. */
export function openPair(
  extensions?: { client: Extension[]; server: Extension[] },
  serverOptions: ConnectionOptions = {},
): { client: WSConnection; server: WSConnection } {
  const client = new WSConnection(ConnectionType.CLIENT);
  const server = new WSConnection(ConnectionType.SERVER, serverOptions);
  server.receiveData(client.send(new Request({ host: "example.com", target: "/", extensions: extensions?.client ?? [] })));
  for (const event of server.events()) {
    if (!(event instanceof Request)) throw new Error(`server got ${event.type}`);
  }
  client.receiveData(server.send(new AcceptConnection({ extensions: extensions?.server ?? [] })));
  for (const event of client.events()) {
    if (!(event instanceof AcceptConnection)) throw new Error(`client got ${event.type}`);
  }
  if (client.state !== "OPEN" || server.state !== "OPEN") throw new Error(`handshake: ${client.state} / ${server.state}`);
  return { client, server };
}

export function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(`wrong answer: ${what}`);
}
