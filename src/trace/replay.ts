/**
 * `replayTrace(trace)`: feed a recorded connection (README, "Flight recorder") through a fresh
 * `WSConnection` in the recorded order — the same chunks, EOF, sends and `events()` pulls — and
 * compare, step by step, the events, states, errors and bytes with the recording. The core is
 * deterministic given its input and its randomness, so a client is replayed with the nonce and
 * masking keys it used, read back from the bytes it sent (RFC 6455 §4.1, §5.3). Portable.
 */
import type { Extension } from "../../codec/extension.js";
import { concatBytes } from "../../codec/bytes.js";
import type { Entropy } from "../../codec/core/protocol-core.js";
import { WSConnection } from "../connection.js";
import { ConnectionType } from "../../codec/constants.js";
import type { Event } from "../../codec/events.js";
import { PerMessageDeflate, type PerMessageDeflateOptions } from "../extensions/permessage-deflate.js";
import { traceError, type TraceError } from "./entries.js";
import { decodeBase64, encodeBase64, eventFromJson, eventJson, parseTrace, receivedBytes, type BytesJson, type TraceLine } from "./json.js";

export interface ReplayOptions {
  /**
   * A fresh extension for each one the recorded Request or AcceptConnection carried, given its
   * name and recorded `offer()`. Default: `PerMessageDeflate` configured from that offer (the
   * portable pako engine: pass `wsmachine/node`'s `nodePerMessageDeflate` to compare a Node
   * endpoint's compressed bytes too).
   */
  extension?: (name: string, offer: string | boolean) => Extension;
}

export interface ReplayStep {
  /** The recorded line. */
  readonly line: TraceLine;
  /** What the replay did there, in the recorded line's shape (`at` aside). */
  readonly replayed: { readonly state: string; readonly event?: unknown; readonly data?: string | null; readonly error?: TraceError | null };
  /** Event, state and error as recorded. */
  readonly matches: boolean;
  /** Sent bytes as recorded (always true for lines that send nothing). */
  readonly bytesMatch: boolean;
}

export interface ReplayResult {
  readonly steps: readonly ReplayStep[];
  /** Every step's event, state and error as recorded. */
  readonly matches: boolean;
  /** Every send's bytes as recorded. */
  readonly bytesMatch: boolean;
  /** The first step that differs, with what differed; null when all match. */
  readonly firstMismatch: { readonly index: number; readonly recorded: TraceLine; readonly replayed: ReplayStep["replayed"] } | null;
  /** The recording stopped at its size bound; the replay covers what was recorded. */
  readonly truncated: boolean;
}

/** PerMessageDeflate options from an offer's parameters ("client_max_window_bits; server_no_context_takeover"). */
function deflateFromOffer(offer: string | boolean): PerMessageDeflate {
  const options: { -readonly [K in keyof PerMessageDeflateOptions]: PerMessageDeflateOptions[K] } = { clientMaxWindowBits: false };
  for (const parameter of typeof offer === "string" ? offer.split(";") : []) {
    const [name = "", value] = parameter.trim().split("=").map((part) => part.trim().replace(/^"|"$/g, ""));
    if (name === "client_no_context_takeover") options.clientNoContextTakeover = true;
    else if (name === "server_no_context_takeover") options.serverNoContextTakeover = true;
    else if (name === "client_max_window_bits") options.clientMaxWindowBits = value === undefined ? true : Number(value);
    else if (name === "server_max_window_bits") options.serverMaxWindowBits = Number(value);
  }
  return new PerMessageDeflate(options);
}

function defaultExtension(name: string, offer: string | boolean): Extension {
  if (name === "permessage-deflate") return deflateFromOffer(offer);
  throw new Error(`the trace uses the extension ${name}: pass replayTrace(trace, { extension: (name, offer) => … }) to rebuild it`);
}

const HTTP_EVENTS = new Set(["Request", "AcceptConnection", "RejectConnection", "RejectData"]);

/** The nonce and masking keys a client used, from the bytes it sent, handed out in order. */
function recordedEntropy(lines: readonly TraceLine[]): Entropy {
  let nonce: string | null = null;
  const keys: Uint8Array[] = [];
  for (const line of lines) {
    if (line.type !== "send" || line.data === null) continue;
    const bytes = concatBytes(line.data.map((part) => bytesOf(part)));
    if (line.event.type === "Request") nonce ??= /\r\nsec-websocket-key:\s*([A-Za-z0-9+/=]+)/i.exec(new TextDecoder("latin1").decode(bytes))?.[1] ?? null;
    else if (!HTTP_EVENTS.has(line.event.type)) keys.push(...maskKeys(bytes));
  }
  let next = 0;
  return {
    nonce: () => {
      if (nonce === null) throw new Error("the trace's Request has no Sec-WebSocket-Key: was it recorded by wsmachine?");
      return nonce;
    },
    // Past the recorded keys (a replay that sends more than the recording did): zeros, which the byte comparison reports.
    maskKey: (key) => key.set(keys[next++] ?? [0, 0, 0, 0]),
  };
}

/** The masking key of each frame in `bytes` (whole frames, as one send produces; RFC 6455 §5.2). */
function maskKeys(bytes: Uint8Array): Uint8Array[] {
  const keys: Uint8Array[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  while (at + 2 <= bytes.length) {
    const masked = (bytes[at + 1]! & 0x80) !== 0;
    let length = bytes[at + 1]! & 0x7f;
    at += 2;
    if (length === 126) {
      length = view.getUint16(at);
      at += 2;
    } else if (length === 127) {
      length = Number(view.getBigUint64(at));
      at += 8;
    }
    if (masked) {
      keys.push(bytes.slice(at, at + 4));
      at += 4;
    }
    at += length;
  }
  return keys;
}

function bytesOf(json: BytesJson): Uint8Array {
  const bytes = receivedBytes(json);
  return bytes ?? new Uint8Array(0);
}

/** Replay a trace (its JSON Lines text, or the lines parsed) and compare it with the recording. */
export function replayTrace(trace: string | readonly TraceLine[], options: ReplayOptions = {}): ReplayResult {
  const lines = typeof trace === "string" ? parseTrace(trace) : trace;
  const start = lines[0];
  if (start?.type !== "start") throw new Error('a trace begins with its "start" line; this one does not');
  if (start.redacted) throw new Error("this trace was recorded with redact: its payloads are not in it, so it cannot be replayed (record without redact)");
  if (start.framesOnly || start.restored) {
    throw new Error("only a WSConnection recorded from its creation can be replayed (this one was frames-only or restored from a snapshot)");
  }
  const extension = options.extension ?? defaultExtension;
  const limits = start.limits;
  // The replayed connection's own recorder tells the state after each step.
  const seen = { state: "" };
  const connection = new WSConnection(start.role, {
    record: (entry) => {
      seen.state = entry.state;
    },
    maxMessageSize: limits.maxMessageSize ?? Infinity,
    maxFragments: limits.maxFragments ?? Infinity,
    maxHandshakeHeadSize: limits.maxHandshakeHeadSize ?? undefined,
    assembleMessages: limits.assembleMessages,
    entropy: start.role === ConnectionType.CLIENT ? recordedEntropy(lines) : undefined,
  });
  const player = new Player(connection, extension, seen);
  const steps: ReplayStep[] = [{ line: start, replayed: { state: player.state() }, matches: player.state() === start.state, bytesMatch: true }];
  let truncated = false;
  for (const line of lines.slice(1)) {
    if (line.type === "truncated") {
      truncated = true;
      break;
    }
    steps.push(player.step(line));
  }
  const index = steps.findIndex((step) => !step.matches || !step.bytesMatch);
  return {
    steps,
    matches: steps.every((step) => step.matches),
    bytesMatch: steps.every((step) => step.bytesMatch),
    firstMismatch: index === -1 ? null : { index, recorded: steps[index]!.line, replayed: steps[index]!.replayed },
    truncated,
  };
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** Drives one connection through the recorded lines. */
class Player {
  private pulls: Generator<Event, void, undefined> | null = null;

  constructor(
    private readonly connection: WSConnection,
    private readonly extension: (name: string, offer: string | boolean) => Extension,
    private readonly seen: { readonly state: string },
  ) {}

  state(): string {
    return this.seen.state;
  }

  step(line: TraceLine): ReplayStep {
    switch (line.type) {
      case "receive": {
        const error = this.attempt(() => this.connection.receiveData(receivedBytes(line.data)));
        return this.compare(line, { state: this.state(), error }, same(error, line.error));
      }
      case "upgrade": {
        const error = this.attempt(() => this.connection.initiateUpgradeConnection(line.headers, line.target));
        return this.compare(line, { state: this.state(), error }, same(error, line.error));
      }
      case "send":
        return this.send(line);
      case "event": {
        this.pulls ??= this.connection.events();
        const next = this.pulls.next();
        if (next.done === true) this.pulls = null;
        const event = next.done === true ? null : eventJson(next.value);
        return this.compare(line, { state: this.state(), event }, same(event, line.event));
      }
      case "drained": {
        // The recorded iteration ended here: so must the replayed one, with no event left over.
        const pulls = this.pulls ?? this.connection.events();
        this.pulls = null;
        const extra = pulls.next();
        const event = extra.done === true ? undefined : eventJson(extra.value);
        if (extra.done !== true) for (const _ of pulls);
        return this.compare(line, { state: this.state(), event }, event === undefined);
      }
      default:
        return this.compare(line, { state: this.state() }, false);
    }
  }

  private send(line: Extract<TraceLine, { type: "send" }>): ReplayStep {
    let data: string | null = null;
    const error = this.attempt(() => {
      data = encodeBase64(this.connection.send(eventFromJson(line.event, this.extension)));
    });
    const recorded = line.data === null ? null : encodeBase64(concatBytes(line.data.map((part) => (typeof part === "string" ? decodeBase64(part) : new Uint8Array(0)))));
    const replayed = { state: this.state(), data, error };
    return { line, replayed, matches: same(error, line.error) && replayed.state === line.state, bytesMatch: data === recorded };
  }

  private compare(line: TraceLine, replayed: ReplayStep["replayed"], eventMatches: boolean): ReplayStep {
    return { line, replayed, matches: eventMatches && replayed.state === line.state, bytesMatch: true };
  }

  private attempt(action: () => void): TraceError | null {
    try {
      action();
      return null;
    } catch (error) {
      return traceError(error);
    }
  }
}
