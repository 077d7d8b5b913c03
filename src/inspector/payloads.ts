/**
 * Payload previews for the inspector (the first bytes of each frame's payload, as hex and text)
 * and the pairing of traced frames with the payloads the flight recorder reports. Portable.
 */
import { CloseConnection, Message, Ping, Pong, type Event } from "../../codec/events.js";
import type { TraceEntry } from "../trace/entries.js";
import type { ConnectionRecord, FrameEntry, InspectorHub } from "./hub.js";

/** The first bytes of a payload, as hex and as text (non-printable characters as "·"). */
export interface Preview {
  readonly length: number;
  readonly hex: string;
  readonly text: string;
}

function hex(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) out += (out === "" ? "" : " ") + byte.toString(16).padStart(2, "0");
  return out;
}

/** The first `limit` bytes of a payload; text as the characters of a string, else byte by byte as Latin-1. */
export function preview(payload: Uint8Array | string, limit: number): Preview {
  const bytes = typeof payload === "string" ? new TextEncoder().encode(payload.slice(0, limit)).subarray(0, limit) : payload.subarray(0, limit);
  const text = typeof payload === "string" ? payload.slice(0, limit) : String.fromCharCode(...bytes);
  return { length: payload.length, hex: hex(bytes), text: text.replace(/[\u0000-\u001f\u007f-\u009f]/g, "·") };
}

/** The payload an event carries, for its preview. */
export function payloadOf(event: Event): Uint8Array | string | null {
  if (event instanceof Message) return event.data as Uint8Array | string;
  if (event instanceof Ping || event instanceof Pong) return event.payload;
  if (event instanceof CloseConnection) return event.reason ?? "";
  return null;
}

/**
 * Pairs each traced frame with its payload. The frame trace reports a received frame just
 * before `events()` hands out its event, and a sent one inside the `send` the recorder reports
 * right after: so a frame is held until that entry arrives, then shown with its preview.
 */
export class PayloadTracker {
  /** True once the connection's recorder reported its start: frames then wait for their payload. */
  recording = false;
  private held: FrameEntry[] = [];
  private lastChunk: Uint8Array | null = null;

  constructor(
    private readonly hub: InspectorHub,
    private readonly record: ConnectionRecord,
  ) {}

  hold(entry: FrameEntry): void {
    this.held.push(entry);
  }

  recorded(entry: TraceEntry): void {
    if (entry.type === "start") this.recording = true;
    else if (entry.type === "receive") this.lastChunk = entry.data === null ? null : entry.data.slice(0, 64);
    else if (entry.type === "event" || entry.type === "send") {
      const payload = payloadOf(entry.event);
      const shown = payload === null ? undefined : this.hub.previewOf(payload);
      for (const frame of this.held) {
        if (shown !== undefined) frame.preview = shown;
      }
    }
    if (entry.type === "event" || entry.type === "send" || entry.type === "drained") this.flush();
  }

  flush(): void {
    const held = this.held;
    this.held = [];
    for (const frame of held) this.hub.addFrame(this.record, frame);
  }

  /** The frame the connection refused: what the last chunk received held (it came in it). */
  refusedFrame(failure: { code: number; reason: string }): FrameEntry {
    this.flush();
    const chunk = this.lastChunk;
    const entry: FrameEntry = {
      direction: "in",
      opcode: chunk === null || chunk.length === 0 ? -1 : chunk[0]! & 0x0f,
      length: chunk?.length ?? 0,
      frameFinished: true,
      at: Date.now(),
      opcodeName: "refused",
      refused: failure,
    };
    if (chunk !== null) {
      const shown = this.hub.previewOf(chunk);
      if (shown !== undefined) entry.preview = shown;
    }
    return entry;
  }
}
