/**
 * The checks `npm run echo-client` runs against an echo server (any: ours, ws, another
 * library's), shared with the interop tests. Each check is one line of the report. This file
 * imports no runtime: the client that runs the checks is given (wsmachine/node's connect in
 * ./echo-battery.ts, wsmachine/deno's and wsmachine/bun's in ./deno/ and ./bun/).
 */
import type { CloseInfo, WebSocketEndpointEvents } from "../src/runtime/endpoint-types.js";

/** What the battery uses of an endpoint: every runtime's BatteryEndpoint has it. */
export interface BatteryEndpoint {
  on<K extends keyof WebSocketEndpointEvents>(name: K, listener: (...args: WebSocketEndpointEvents[K]) => void): unknown;
  off<K extends keyof WebSocketEndpointEvents>(name: K, listener: (...args: WebSocketEndpointEvents[K]) => void): unknown;
  send(data: string | Uint8Array): boolean;
  sendFragment(data: string | Uint8Array, final: boolean): boolean;
  ping(payload?: string | Uint8Array): boolean;
  close(code?: number, reason?: string): boolean;
  terminate(): void;
  readonly closed: Promise<CloseInfo>;
  readonly extensions: readonly { readonly name: string }[];
}

/** A runtime's connect(), as the battery calls it. */
export type BatteryConnect = (url: string, options: { perMessageDeflate: boolean; handshakeTimeout: number }) => Promise<BatteryEndpoint>;

export interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
}

export interface BatteryOptions {
  /** The client to test with. */
  connect: BatteryConnect;
  /** Offer permessage-deflate, and check that the server accepted it. */
  deflate: boolean;
  /** Called with each result as it is known (the CLI prints it). */
  onResult?: (result: CheckResult) => void;
  /** Milliseconds each check may take (default 10000). */
  timeout?: number;
}

/** Sizes in bytes: the edges of the 7-bit, 16-bit and 64-bit length forms (RFC 6455 §5.2), and 1 MiB. */
export const MESSAGE_SIZES = [0, 125, 126, 65535, 65536, 1024 * 1024] as const;

/** Text mixing 1-, 2-, 3- and 4-byte UTF-8 sequences. */
export const MULTI_BYTE_TEXT = "aé€😀 Grüße, Καλημέρα, こんにちは, 🚀🌍 — ✓";

const encoder = new TextEncoder();

/** ASCII text of exactly `size` bytes, not all one letter (so compression has something to find). */
export function textOfSize(size: number): string {
  const pattern = "The quick brown fox jumps over the lazy dog 0123456789. ";
  return pattern.repeat(Math.ceil(size / pattern.length)).slice(0, size);
}

/** Bytes that do not compress (a hash chain), so a binary message is not a best case for deflate. */
export function bytesOfSize(size: number, seed = 1): Uint8Array {
  const bytes = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    // xorshift32
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  return bytes;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function describeSize(size: number): string {
  return size === 1024 * 1024 ? "1 MiB" : `${size} bytes`;
}

/** Collects an endpoint's messages so a check can await the next one. */
class Inbox {
  private readonly queue: Array<{ data: string | Uint8Array; isBinary: boolean }> = [];
  private waiter: (() => void) | null = null;

  constructor(endpoint: BatteryEndpoint) {
    endpoint.on("message", (data, isBinary) => {
      this.queue.push({ data, isBinary });
      this.waiter?.();
    });
    endpoint.on("close", () => this.waiter?.());
  }

  async next(timeout: number): Promise<{ data: string | Uint8Array; isBinary: boolean }> {
    const started = Date.now();
    while (this.queue.length === 0) {
      const remaining = timeout - (Date.now() - started);
      if (remaining <= 0) throw new Error(`no message within ${timeout} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.waiter = () => {
          clearTimeout(timer);
          this.waiter = null;
          resolve();
        };
      });
      if (this.queue.length === 0 && this.closed) throw new Error("the connection closed");
    }
    return this.queue.shift()!;
  }

  closed = false;
}

function withTimeout<T>(promise: Promise<T>, timeout: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: nothing within ${timeout} ms`)), timeout);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Run every check against the echo server at `url`; one connection carries them all. */
export async function runEchoBattery(url: string, options: BatteryOptions): Promise<CheckResult[]> {
  const timeout = options.timeout ?? 10_000;
  const label = options.deflate ? " [permessage-deflate]" : "";
  const results: CheckResult[] = [];
  const record = (name: string, ok: boolean, detail = ""): void => {
    const result = { name: `${name}${label}`, ok, detail };
    results.push(result);
    options.onResult?.(result);
  };

  let endpoint: BatteryEndpoint;
  try {
    endpoint = await withTimeout(options.connect(url, { perMessageDeflate: options.deflate, handshakeTimeout: timeout }), timeout, "handshake");
  } catch (error) {
    record("opening handshake", false, (error as Error).message);
    return results;
  }
  // Errors arrive here; the checks report what they mean.
  endpoint.on("error", () => {});
  const inbox = new Inbox(endpoint);
  endpoint.on("close", () => {
    inbox.closed = true;
  });
  const negotiated = endpoint.extensions.map((extension) => extension.name);
  record(
    "opening handshake",
    options.deflate ? negotiated.includes("permessage-deflate") : negotiated.length === 0,
    `extensions: ${negotiated.join(", ") || "none"}`,
  );

  const expectEcho = async (name: string, send: () => void, expected: string | Uint8Array): Promise<void> => {
    try {
      send();
      const { data, isBinary } = await inbox.next(timeout);
      if (typeof expected === "string") {
        if (isBinary || typeof data !== "string") return record(name, false, "got a binary message back");
        if (data !== expected) return record(name, false, `got ${encoder.encode(data).length} bytes of different text back`);
      } else {
        if (!isBinary || typeof data === "string") return record(name, false, "got a text message back");
        if (!sameBytes(data, expected)) return record(name, false, `got ${data.length} different bytes back`);
      }
      record(name, true);
    } catch (error) {
      record(name, false, (error as Error).message);
    }
  };

  for (const size of MESSAGE_SIZES) {
    const text = textOfSize(size);
    await expectEcho(`text message of ${describeSize(size)}`, () => endpoint.send(text), text);
  }
  for (const size of MESSAGE_SIZES) {
    const bytes = bytesOfSize(size, size + 7);
    await expectEcho(`binary message of ${describeSize(size)}`, () => endpoint.send(bytes), bytes);
  }
  await expectEcho("multi-byte UTF-8 text", () => endpoint.send(MULTI_BYTE_TEXT), MULTI_BYTE_TEXT);

  const fragments = ["frag", "mented ", MULTI_BYTE_TEXT, "", " end"];
  await expectEcho(
    "fragmented text message (5 frames, a ping between)",
    () => {
      fragments.forEach((fragment, index) => {
        endpoint.sendFragment(fragment, index === fragments.length - 1);
        if (index === 1) endpoint.ping("in the middle");
      });
    },
    fragments.join(""),
  );
  const binaryFragments = [bytesOfSize(1000, 1), bytesOfSize(70000, 2), bytesOfSize(1, 3)];
  await expectEcho(
    "fragmented binary message (3 frames)",
    () => binaryFragments.forEach((fragment, index) => endpoint.sendFragment(fragment, index === binaryFragments.length - 1)),
    Uint8Array.from([...binaryFragments[0]!, ...binaryFragments[1]!, ...binaryFragments[2]!]),
  );

  try {
    // Pongs to the ping between fragments may still be in flight: wait for this one's payload.
    const payload = "ping payload ✓";
    const pong = new Promise<Uint8Array>((resolve) => {
      const onPong = (received: Uint8Array): void => {
        if (new TextDecoder().decode(received) !== payload) return;
        endpoint.off("pong", onPong);
        resolve(received);
      };
      endpoint.on("pong", onPong);
    });
    endpoint.ping(payload);
    await withTimeout(pong, timeout, "pong");
    record("ping answered with a pong carrying its payload", true);
  } catch (error) {
    record("ping answered with a pong carrying its payload", false, (error as Error).message);
  }

  try {
    const reason = "battery done ✓";
    endpoint.close(4000, reason);
    const info = await withTimeout(endpoint.closed, timeout, "close");
    const ok = info.wasClean && info.code === 4000 && info.reason === reason;
    record("close with code 4000 and a reason, echoed back", ok, `got ${info.code} ${JSON.stringify(info.reason)}, clean: ${info.wasClean}`);
  } catch (error) {
    record("close with code 4000 and a reason, echoed back", false, (error as Error).message);
    endpoint.terminate();
  }
  return results;
}
