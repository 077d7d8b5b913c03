/**
 * What the inspector knows about each connection, and how it learns it: an XState inspection
 * observer (`@xstate.snapshot` events: every lifecycle step of the connection actor, with the
 * event that caused it), the connection's opt-in frame trace (frames do not pass through the
 * actor) and its flight recorder (`record`: the payloads, for previews, the chunk a refused
 * frame came in, and the connection's trace as JSON Lines). Each `track()` returns the options
 * to give one connection, so the records never mix connections up.
 *
 * Everything recorded is plain JSON, broadcast to the page as `FeedMessage`s. Portable: no
 * Node built-ins (the node:http server is ./server.ts).
 */
import type { InspectionEvent, Observer } from "xstate";
import type { FrameTrace, FrameTraceRecord } from "../../codec/core/protocol-core.js";
import type { TraceEntry, TraceRecorder } from "../trace/entries.js";
import { traceLine } from "../trace/json.js";
import { PayloadTracker, preview, type Preview } from "./payloads.js";

export { preview, type Preview } from "./payloads.js";

export type Role = "client" | "server";

export interface LifecycleEntry {
  /** Milliseconds since the epoch. */
  readonly at: number;
  /** The type of the event the actor processed: "ws.send", "peer.close", "xstate.init", … */
  readonly event: string;
  /** What the event carried, briefly: "CloseConnection 1000", "GET /echo", "12 bytes". */
  readonly detail: string;
  /** The state after the event, as a dotted path ("OPEN.active"). */
  readonly state: string;
  /** The top-level state (a ConnectionState name). */
  readonly top: string;
  /** False when the event left the state as it was. */
  readonly changed: boolean;
}

export interface FrameEntry extends FrameTraceRecord {
  readonly at: number;
  readonly opcodeName: string;
  /** The payload's first bytes (absent with `redact`, or when the connection has no `record`). */
  preview?: Preview;
  /** A frame the connection refused (RFC 6455 §7.1.7): the close code and why; its preview is the chunk it came in. */
  readonly refused?: { readonly code: number; readonly reason: string };
}

export interface EndInfo {
  readonly at: number;
  readonly code: number;
  readonly reason: string;
  readonly wasClean: boolean;
}

export interface ConnectionRecord {
  readonly id: number;
  readonly role: Role;
  readonly label: string;
  readonly startedAt: number;
  state: string;
  ended: EndInfo | null;
  readonly lifecycle: LifecycleEntry[];
  readonly frames: FrameEntry[];
  /** Frames not kept (past `maxFrames`), so the page can say so. */
  framesDropped: number;
  /** Why the connection failed (a protocol error or a failed handshake), or null. */
  failure: { readonly code: number; readonly reason: string } | null;
}

export type FeedMessage =
  | { readonly type: "hello"; readonly connections: readonly ConnectionRecord[] }
  | { readonly type: "connection"; readonly connection: ConnectionRecord }
  | { readonly type: "lifecycle"; readonly id: number; readonly entry: LifecycleEntry }
  | { readonly type: "frame"; readonly id: number; readonly entry: FrameEntry }
  | { readonly type: "failure"; readonly id: number; readonly failure: { readonly code: number; readonly reason: string } }
  | { readonly type: "ended"; readonly id: number; readonly ended: EndInfo }
  | { readonly type: "forget"; readonly id: number };

export interface TrackedConnection {
  readonly id: number;
  /** Pass as the connection's `inspect` option. */
  readonly inspect: Observer<InspectionEvent>;
  /** Pass as the connection's `frameTrace` option. */
  readonly frameTrace: FrameTrace;
  /** Pass as the connection's `record` option: payload previews, refused frames, and the trace. */
  readonly record: TraceRecorder;
  /** The transport is gone (the endpoint's `closed` resolved, or it never opened). */
  end(info: Omit<EndInfo, "at">): void;
}

export interface HubOptions {
  /** Connections kept; the oldest ended ones are forgotten first (default 40). */
  maxConnections?: number;
  /** Frames kept per connection (default 300). */
  maxFrames?: number;
  /** Leave payloads out: no previews, and traces recorded with `redact` (default false). */
  redact?: boolean;
  /** Bytes of JSON Lines trace kept per connection (default 1 MiB; 0 keeps none). */
  maxTraceBytes?: number;
  /** Bytes shown in a payload preview (default 32). */
  previewBytes?: number;
}

/** A connection's flight-recorder trace as the hub keeps it (`traceOf`). */
interface KeptTrace {
  readonly lines: string[];
  bytes: number;
  truncated: boolean;
}

const OPCODE_NAMES: Readonly<Record<number, string>> = { 0: "continuation", 1: "text", 2: "binary", 8: "close", 9: "ping", 10: "pong" };

/** "OPEN.active" from `{ OPEN: "active" }`. The connection machine has no parallel states. */
export function stateName(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "object" && value !== null) {
    const [key, child] = Object.entries(value)[0] ?? [];
    if (key === undefined) return "";
    const rest = stateName(child);
    return rest === "" ? key : `${key}.${rest}`;
  }
  return String(value);
}

/** A short description of what a statechart event carried (never the whole payload). */
export function eventDetail(event: { type: string } & Record<string, unknown>): string {
  switch (event.type) {
    case "ws.send": {
      const sent = event.event as ({ type?: string; code?: number; statusCode?: number } & object) | undefined;
      if (sent === undefined) return "";
      if (sent.type === "CloseConnection") return `CloseConnection ${sent.code}`;
      if (sent.type === "RejectConnection") return `RejectConnection ${sent.statusCode}`;
      return sent.type ?? "";
    }
    case "ws.receive": {
      const data = event.data as Uint8Array | null;
      return data === null ? "EOF" : `${data.length} bytes`;
    }
    case "peer.request": {
      const request = event.request as { target?: string } | undefined;
      return `GET ${request?.target ?? ""}`;
    }
    case "peer.accepted": {
      const accept = event.accept as { subprotocol?: string | null; extensions?: ReadonlyArray<{ name: string }> } | undefined;
      const extensions = accept?.extensions?.map((extension) => extension.name).join(", ") ?? "";
      return extensions === "" ? "101" : `101, ${extensions}`;
    }
    case "peer.rejected":
      return String((event.reject as { statusCode?: number } | undefined)?.statusCode ?? "");
    case "peer.close":
      return `code ${String(event.code)}${typeof event.reason === "string" && event.reason !== "" ? ` ${JSON.stringify(event.reason)}` : ""}`;
    case "peer.protocolError":
      return `code ${String(event.code)}: ${String(event.reason)}`;
    case "peer.handshakeFailed":
      return String(event.message);
    default:
      return "";
  }
}

export class InspectorHub {
  private readonly records = new Map<number, ConnectionRecord>();
  private readonly traces = new Map<number, KeptTrace>();
  private readonly listeners = new Set<(message: FeedMessage) => void>();
  private nextId = 1;
  private readonly maxConnections: number;
  private readonly maxFrames: number;
  private readonly redact: boolean;
  private readonly maxTraceBytes: number;
  private readonly previewBytes: number;

  constructor(options: HubOptions = {}) {
    this.maxConnections = options.maxConnections ?? 40;
    this.maxFrames = options.maxFrames ?? 300;
    this.redact = options.redact === true;
    this.maxTraceBytes = options.maxTraceBytes ?? 1024 * 1024;
    this.previewBytes = options.previewBytes ?? 32;
  }

  /** Listen to every change; returns the function that stops listening. */
  subscribe(listener: (message: FeedMessage) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Every connection currently kept, oldest first. */
  connections(): ConnectionRecord[] {
    return [...this.records.values()];
  }

  get(id: number): ConnectionRecord | undefined {
    return this.records.get(id);
  }

  /** A kept connection's flight-recorder trace, as JSON Lines (see README, "Flight recorder"), or undefined. */
  traceOf(id: number): string | undefined {
    const trace = this.traces.get(id);
    if (trace === undefined || trace.lines.length === 0) return undefined;
    const lines = trace.truncated ? [...trace.lines, JSON.stringify({ type: "truncated", bytes: trace.bytes, at: Date.now(), state: "" })] : trace.lines;
    return `${lines.join("\n")}\n`;
  }

  /** Start recording a new connection: give the returned `inspect`, `frameTrace` and `record` to it. */
  track(role: Role, label: string): TrackedConnection {
    const record: ConnectionRecord = {
      id: this.nextId++,
      role,
      label,
      startedAt: Date.now(),
      state: "",
      ended: null,
      lifecycle: [],
      frames: [],
      framesDropped: 0,
      failure: null,
    };
    this.records.set(record.id, record);
    this.evict();
    this.broadcast({ type: "connection", connection: record });
    const payloads = new PayloadTracker(this, record);
    return {
      id: record.id,
      inspect: this.observer(record, payloads),
      frameTrace: (frame) => {
        const entry: FrameEntry = { ...frame, at: Date.now(), opcodeName: OPCODE_NAMES[frame.opcode] ?? `0x${frame.opcode.toString(16)}` };
        // With the recorder on, a frame waits for its payload (the event or send that follows at once).
        if (payloads.recording) payloads.hold(entry);
        else this.addFrame(record, entry);
      },
      record: (entry) => {
        payloads.recorded(entry);
        this.keepTrace(record.id, entry);
      },
      end: (info) => {
        if (record.ended !== null) return;
        payloads.flush();
        record.ended = { ...info, at: Date.now() };
        this.broadcast({ type: "ended", id: record.id, ended: record.ended });
        this.evict();
      },
    };
  }

  private observer(record: ConnectionRecord, payloads: PayloadTracker): Observer<InspectionEvent> {
    let rootSession: string | null = null;
    return {
      next: (inspection) => {
        if (inspection.type !== "@xstate.snapshot") return;
        // Only the connection actor itself (the root of its own actor system).
        rootSession ??= inspection.rootId;
        if (inspection.actorRef.sessionId !== rootSession) return;
        const state = stateName((inspection.snapshot as { value?: unknown }).value);
        const event = inspection.event as { type: string } & Record<string, unknown>;
        const entry: LifecycleEntry = {
          at: Date.now(),
          event: event.type,
          detail: eventDetail(event),
          state,
          top: state.split(".")[0]!,
          changed: state !== record.state,
        };
        record.state = state;
        record.lifecycle.push(entry);
        this.broadcast({ type: "lifecycle", id: record.id, entry });
        if (event.type === "peer.protocolError" || event.type === "peer.handshakeFailed") {
          // A failed handshake has no close frame: shown with 1002 (protocol error), the reason saying where it failed.
          const failure =
            event.type === "peer.protocolError" ? { code: Number(event.code), reason: String(event.reason) } : { code: 1002, reason: `handshake: ${String(event.message)}` };
          record.failure = failure;
          this.broadcast({ type: "failure", id: record.id, failure });
          this.addFrame(record, payloads.refusedFrame(failure));
        }
      },
    };
  }

  /** @internal Used by PayloadTracker: the frame row, once complete. */
  addFrame(record: ConnectionRecord, entry: FrameEntry): void {
    if (record.frames.length >= this.maxFrames) {
      record.frames.shift();
      record.framesDropped++;
    }
    record.frames.push(entry);
    this.broadcast({ type: "frame", id: record.id, entry });
  }

  /** @internal */
  previewOf(payload: Uint8Array | string): Preview | undefined {
    return this.redact ? undefined : preview(payload, this.previewBytes);
  }

  private keepTrace(id: number, entry: TraceEntry): void {
    if (this.maxTraceBytes === 0) return;
    let trace = this.traces.get(id);
    if (trace === undefined) this.traces.set(id, (trace = { lines: [], bytes: 0, truncated: false }));
    if (trace.truncated) return;
    const line = JSON.stringify(traceLine(entry, { at: Date.now(), redact: this.redact }));
    if (trace.bytes + line.length + 1 > this.maxTraceBytes) {
      trace.truncated = true;
      return;
    }
    trace.lines.push(line);
    trace.bytes += line.length + 1;
  }

  /**
   * Listeners run inside connections' inspection and frame-trace callbacks, where an exception
   * would break the connection being watched: a failing listener is dropped instead.
   */
  private broadcast(message: FeedMessage): void {
    for (const listener of this.listeners) {
      try {
        listener(message);
      } catch {
        this.listeners.delete(listener);
      }
    }
  }

  /** Forget the oldest ended connections beyond the limit (live ones are always kept). */
  private evict(): void {
    if (this.records.size <= this.maxConnections) return;
    for (const record of this.records.values()) {
      if (this.records.size <= this.maxConnections) break;
      if (record.ended === null) continue;
      this.records.delete(record.id);
      this.traces.delete(record.id);
      this.broadcast({ type: "forget", id: record.id });
    }
  }
}
