/**
 * What the offline inspector knows about each connection, and how it learns it: an XState
 * inspection observer (`@xstate.snapshot` events: every lifecycle step of the connection actor,
 * with the event that caused it) and the connection's opt-in frame trace (frames do not pass
 * through the actor). Each `track()` returns the pair of options to give one connection, so the
 * records never mix connections up.
 *
 * Everything recorded is plain JSON, broadcast to the page as `FeedMessage`s.
 */
import type { InspectionEvent, Observer } from "xstate";
import type { FrameTrace, FrameTraceRecord } from "../../src/index.js";

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
}

export type FeedMessage =
  | { readonly type: "hello"; readonly connections: readonly ConnectionRecord[] }
  | { readonly type: "connection"; readonly connection: ConnectionRecord }
  | { readonly type: "lifecycle"; readonly id: number; readonly entry: LifecycleEntry }
  | { readonly type: "frame"; readonly id: number; readonly entry: FrameEntry }
  | { readonly type: "ended"; readonly id: number; readonly ended: EndInfo }
  | { readonly type: "forget"; readonly id: number };

export interface TrackedConnection {
  readonly id: number;
  /** Pass as the connection's `inspect` option. */
  readonly inspect: Observer<InspectionEvent>;
  /** Pass as the connection's `frameTrace` option. */
  readonly frameTrace: FrameTrace;
  /** The transport is gone (the endpoint's `closed` resolved, or it never opened). */
  end(info: Omit<EndInfo, "at">): void;
}

export interface HubOptions {
  /** Connections kept; the oldest ended ones are forgotten first (default 40). */
  maxConnections?: number;
  /** Frames kept per connection (default 300). */
  maxFrames?: number;
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
  private readonly listeners = new Set<(message: FeedMessage) => void>();
  private nextId = 1;
  private readonly maxConnections: number;
  private readonly maxFrames: number;

  constructor(options: HubOptions = {}) {
    this.maxConnections = options.maxConnections ?? 40;
    this.maxFrames = options.maxFrames ?? 300;
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

  /** Start recording a new connection: give the returned `inspect` and `frameTrace` to it. */
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
    };
    this.records.set(record.id, record);
    this.evict();
    this.broadcast({ type: "connection", connection: record });

    let rootSession: string | null = null;
    const inspect: Observer<InspectionEvent> = {
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
      },
    };
    const frameTrace: FrameTrace = (frame) => {
      const entry: FrameEntry = { ...frame, at: Date.now(), opcodeName: OPCODE_NAMES[frame.opcode] ?? `0x${frame.opcode.toString(16)}` };
      if (record.frames.length >= this.maxFrames) {
        record.frames.shift();
        record.framesDropped++;
      }
      record.frames.push(entry);
      this.broadcast({ type: "frame", id: record.id, entry });
    };
    return {
      id: record.id,
      inspect,
      frameTrace,
      end: (info) => {
        if (record.ended !== null) return;
        record.ended = { ...info, at: Date.now() };
        this.broadcast({ type: "ended", id: record.id, ended: record.ended });
        this.evict();
      },
    };
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
      this.broadcast({ type: "forget", id: record.id });
    }
  }
}
