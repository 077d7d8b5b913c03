/**
 * The inspector's demo (./server.ts): the echo server at `/echo`, every connection to it
 * inspected, and a loop that connects a client to it every `interval` ms, exchanges a few
 * messages and a ping, and closes — from the client one time, from the server the next — so
 * there is always something live to watch.
 */
import type * as http from "node:http";
import type { Socket } from "node:net";
import { connect, upgrade, type WebSocketEndpoint } from "../node/index.js";
import type { EndInfo, InspectorHub, TrackedConnection } from "./hub.js";

/** Registers an endpoint so the inspector's close() ends it; returns it. */
export type KeepEndpoint = (endpoint: WebSocketEndpoint) => WebSocketEndpoint;

export interface DemoSettings {
  readonly hub: InspectorHub;
  readonly keep: KeepEndpoint;
  readonly echoUrl: string;
  /** Milliseconds between demo clients; 0 runs none. */
  readonly interval: number;
  /** Milliseconds between the steps of one conversation, so each state can be seen. */
  readonly stepDelay: number;
}

/** At most this many demo conversations at once (a slow machine must not pile them up). */
const MAX_DEMO_CONVERSATIONS = 3;
/** What the demo client sends to have the echo server close, to show both closing paths. */
const CLOSE_REQUEST = "close, please";

/** Serve one `/echo` upgrade: every message is sent back, except the demo's request to close. */
export function serveEcho(hub: InspectorHub, keep: KeepEndpoint, request: http.IncomingMessage, socket: Socket, head: Buffer): void {
  const tracked = hub.track("server", `from port ${request.socket.remotePort ?? "?"}`);
  upgrade(request, socket, head, { ...inspection(tracked), perMessageDeflate: true }).then(
    (endpoint) => {
      keep(endpoint);
      endpoint.on("message", (data) => {
        if (data === CLOSE_REQUEST) endpoint.close(1000, "you asked");
        else endpoint.send(data);
      });
      void endpoint.closed.then((info) => tracked.end(info));
    },
    (error: unknown) => tracked.end(failedToOpen(error)),
  );
}

/** Start the demo loop (the first conversation at once); the function returned stops it. */
export function startDemo(demo: DemoSettings): () => void {
  if (demo.interval <= 0) return () => {};
  let conversations = 0;
  let demoCount = 0;
  let stopped = false;
  const isStopped = (): boolean => stopped;
  const begin = (): void => {
    if (stopped || conversations >= MAX_DEMO_CONVERSATIONS) return;
    conversations++;
    void converse(demo, ++demoCount, isStopped).finally(() => conversations--);
  };
  const timer = setInterval(begin, demo.interval);
  timer.unref();
  begin();
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}

/** One demo client's connection, from connecting to closed, reported to the hub. */
async function converse(demo: DemoSettings, number: number, stopped: () => boolean): Promise<void> {
  const tracked = demo.hub.track("client", `demo #${number}`);
  let endpoint: WebSocketEndpoint;
  try {
    // Every other conversation compresses, so both kinds of frames are shown.
    endpoint = demo.keep(await connect(demo.echoUrl, { ...inspection(tracked), perMessageDeflate: number % 2 === 0 }));
  } catch (error) {
    tracked.end(failedToOpen(error));
    return;
  }
  try {
    await exchange(endpoint, number, demo.stepDelay, stopped);
  } catch {
    endpoint.terminate();
  }
  tracked.end(await endpoint.closed);
}

/** The conversation itself: three messages echoed (text, binary, a long text), a ping, then the close. */
async function exchange(endpoint: WebSocketEndpoint, number: number, stepDelay: number, stopped: () => boolean): Promise<void> {
  const pause = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, stepDelay));
  const reply = (): Promise<unknown> => new Promise((resolve) => endpoint.once("message", resolve));
  for (const message of [`hello from demo #${number}`, Uint8Array.of(number & 0xff, 1, 2, 3), "x".repeat(2000)]) {
    if (stopped()) break;
    await pause();
    const echoed = reply();
    endpoint.send(message);
    await echoed;
  }
  await pause();
  const pong = new Promise((resolve) => endpoint.once("pong", resolve));
  endpoint.ping("ping?");
  await pong;
  await pause();
  // Odd conversations close from the client (LOCAL_CLOSING), even ones from the server (REMOTE_CLOSING).
  if (number % 2 === 1 || stopped()) endpoint.close(1000, "demo done");
  else endpoint.send(CLOSE_REQUEST);
}

/** The options that report a connection to its hub record. */
function inspection(tracked: TrackedConnection): Pick<TrackedConnection, "inspect" | "frameTrace" | "record"> {
  return { inspect: tracked.inspect, frameTrace: tracked.frameTrace, record: tracked.record };
}

/** How a connection that never opened is recorded: abnormal closure (1006), with why. */
function failedToOpen(error: unknown): Omit<EndInfo, "at"> {
  return { code: 1006, reason: error instanceof Error ? error.message : String(error), wasClean: false };
}
