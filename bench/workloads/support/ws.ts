/**
 * ws 8 as a contender through its public `WebSocket` object, with and without its optional
 * native `bufferutil`, in one process.
 *
 * How both variants coexist: ws reads WS_NO_BUFFER_UTIL once, when lib/buffer-util.js loads,
 * and every other lib file takes `mask`/`unmask` from that module. `loadWs()` therefore loads a
 * private copy of ws's lib files: it sets the variable as asked, moves any cached ws modules
 * aside, `require`s lib/websocket.js (which pulls in receiver, sender, buffer-util, …), keeps
 * the fresh module objects, and puts the previous cache entries and the variable back. The two
 * copies share nothing but Node built-ins and the `bufferutil` add-on; `bufferUtilActive()`
 * checks which masker a copy really got.
 *
 * How a ws WebSocket is driven without a network: exactly as ws's own WebSocketServer does after
 * a handshake, `new WebSocket(null)` then `websocket.setSocket(socket, head, options)`, here with a
 * stand-in socket (an EventEmitter with the net.Socket methods ws calls). Received bytes are
 * `socket.emit("data", chunk)`, which is what net.Socket does; what ws writes lands in `write()`.
 * A client is the same object with `_isServer = false` set before `setSocket`, which is the
 * state ws's client is in when its 'upgrade' handler calls `setSocket`.
 */
import { EventEmitter } from "node:events";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);
const wsRoot = dirname(require.resolve("ws"));
const wsLib = join(wsRoot, "lib");

export interface WsWebSocket extends EventEmitter {
  _isServer: boolean;
  _extensions: Record<string, unknown>;
  binaryType: string;
  readyState: number;
  setSocket(socket: StandInSocket, head: Buffer, options: { maxPayload: number; skipUTF8Validation?: boolean; allowSynchronousEvents?: boolean }): void;
  send(data: Uint8Array | string, options?: { binary?: boolean; compress?: boolean; fin?: boolean }, callback?: (error?: Error) => void): void;
}

export interface WsPerMessageDeflate {
  offer(): Record<string, unknown>;
  accept(configurations: unknown[]): Record<string, unknown>;
}

export interface WsModules {
  WebSocket: new (address: null, protocols?: undefined, options?: object) => WsWebSocket;
  PerMessageDeflate: new (options: { threshold?: number; isServer?: boolean; maxPayload?: number }) => WsPerMessageDeflate;
  bufferUtil: { mask: (...args: unknown[]) => void; unmask: (buffer: Uint8Array, key: Uint8Array) => void };
  /** True when this copy of ws masks with the native bufferutil add-on. */
  bufferUtil_native: boolean;
}

/** A fresh copy of ws's lib files, loaded with (or without) its optional bufferutil. */
export function loadWs(withBufferUtil: boolean): WsModules {
  const isWsFile = (key: string): boolean => key.startsWith(wsRoot + "/");
  const saved = new Map<string, NodeJS.Module>();
  for (const key of Object.keys(require.cache)) {
    if (isWsFile(key)) {
      saved.set(key, require.cache[key]!);
      delete require.cache[key];
    }
  }
  const previous = process.env.WS_NO_BUFFER_UTIL;
  if (withBufferUtil) delete process.env.WS_NO_BUFFER_UTIL;
  else process.env.WS_NO_BUFFER_UTIL = "1";
  try {
    const WebSocket = require(join(wsLib, "websocket.js")) as WsModules["WebSocket"];
    const PerMessageDeflate = require(join(wsLib, "permessage-deflate.js")) as WsModules["PerMessageDeflate"];
    const bufferUtil = require(join(wsLib, "buffer-util.js")) as WsModules["bufferUtil"];
    const native = /bufferUtil\.unmask/.test(bufferUtil.unmask.toString());
    if (native !== withBufferUtil) {
      throw new Error(withBufferUtil ? "ws did not pick up bufferutil (is it installed?)" : "ws picked up bufferutil despite WS_NO_BUFFER_UTIL");
    }
    return { WebSocket, PerMessageDeflate, bufferUtil, bufferUtil_native: native };
  } finally {
    for (const key of Object.keys(require.cache)) if (isWsFile(key)) delete require.cache[key];
    for (const [key, module] of saved) require.cache[key] = module;
    if (previous === undefined) delete process.env.WS_NO_BUFFER_UTIL;
    else process.env.WS_NO_BUFFER_UTIL = previous;
  }
}

/**
 * Stands in for the net.Socket under a ws WebSocket: counts what ws writes and optionally hands
 * it on (`sink`), e.g. to the peer's stand-in socket. With `coalesce`, writes between cork() and
 * uncork() reach the sink as one chunk, as a corked socket sends them in one writev (and as the
 * peer would then receive them).
 */
export class StandInSocket extends EventEmitter {
  bytes = 0;
  writes = 0;
  sink: ((chunk: Uint8Array) => void) | null = null;
  coalesce = false;
  private corked = 0;
  private held: Uint8Array[] = [];
  setTimeout(): void {}
  setNoDelay(): void {}
  pause(): void {}
  resume(): void {}
  cork(): void {
    this.corked++;
  }
  uncork(): void {
    if (this.corked > 0 && --this.corked === 0 && this.held.length > 0) {
      const held = this.held;
      this.held = [];
      this.sink?.(held.length === 1 ? held[0]! : Buffer.concat(held));
    }
  }
  end(): void {}
  destroy(): void {}
  write(chunk: Uint8Array | string, encoding?: unknown, callback?: () => void): boolean {
    // A real socket turns a string chunk into UTF-8 bytes before writing it; so does this one.
    const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    this.bytes += bytes.length;
    this.writes++;
    if (this.sink !== null) {
      if (this.corked > 0 && this.coalesce) this.held.push(bytes);
      else this.sink(bytes);
    }
    const done = typeof encoding === "function" ? (encoding as () => void) : callback;
    if (done !== undefined) queueMicrotask(done);
    return true;
  }
}

export interface OpenWs {
  websocket: WsWebSocket;
  socket: StandInSocket;
}

/** A ws WebSocket in OPEN over a stand-in socket, as after a handshake (see the module comment). */
export function openWs(modules: WsModules, role: "client" | "server", extensions: Record<string, unknown> = {}): OpenWs {
  const websocket = new modules.WebSocket(null, undefined, {});
  websocket._isServer = role === "server";
  websocket._extensions = extensions;
  const socket = new StandInSocket();
  websocket.setSocket(socket, Buffer.alloc(0), { maxPayload: 100 * 1024 * 1024, allowSynchronousEvents: true });
  websocket.on("error", (error) => {
    throw error;
  });
  return { websocket, socket };
}
