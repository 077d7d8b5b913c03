/**
 * The flight recorder's Node side (README, "Flight recorder"): a connection's `record` option
 * that writes its trace as JSON Lines — one `traceLine` per entry, stamped with the time it
 * happened — to a file, stopping at a size bound with a final `{"type":"truncated"}` line, with
 * optional payload redaction. The core has no clock and no files; this glue adds both.
 */
import { createWriteStream } from "node:fs";
import type { TraceRecorder } from "../trace/entries.js";
import { traceLine } from "../trace/json.js";

export interface TraceWriterOptions {
  /** Stop recording past this many bytes of JSON Lines (default 16 MiB). */
  maxBytes?: number;
  /** Replace every payload and chunk by its length (the route stays visible; replay is then impossible). */
  redact?: boolean;
  /** Milliseconds since the epoch for each entry (default Date.now). */
  clock?: () => number;
}

export interface JsonLinesRecorder {
  /** Pass as the connection's `record` option. */
  readonly record: TraceRecorder;
  /** Bytes of UTF-8 written so far, newlines included. */
  readonly bytes: number;
  /** True once `maxBytes` was reached. */
  readonly truncated: boolean;
}

/** A `record` option that hands each entry to `write` as one JSON line (with its "\n"), bounded. */
export function jsonLinesRecorder(write: (line: string) => void, options: TraceWriterOptions = {}): JsonLinesRecorder {
  const maxBytes = options.maxBytes ?? 16 * 1024 * 1024;
  const redact = options.redact === true;
  const clock = options.clock ?? Date.now;
  const state = { bytes: 0, truncated: false };
  const record: TraceRecorder = (entry) => {
    if (state.truncated) return;
    const at = clock();
    const line = `${JSON.stringify(traceLine(entry, { at, redact }))}\n`;
    const size = Buffer.byteLength(line);
    if (state.bytes + size > maxBytes) {
      state.truncated = true;
      write(`${JSON.stringify({ type: "truncated", bytes: state.bytes, at, state: entry.state })}\n`);
      return;
    }
    state.bytes += size;
    write(line);
  };
  return {
    record,
    get bytes() {
      return state.bytes;
    },
    get truncated() {
      return state.truncated;
    },
  };
}

export interface TraceWriter extends JsonLinesRecorder {
  /** Flush and close the file; resolves once it is written. */
  close(): Promise<void>;
}

/**
 * Record one connection's trace into the file at `path` (created or truncated):
 * `connect(url, { record: writer.record })`, then `await writer.close()` once it has ended.
 */
export function traceWriter(path: string, options: TraceWriterOptions = {}): TraceWriter {
  const stream = createWriteStream(path, { encoding: "utf8" });
  let failure: Error | null = null;
  // A write error must not throw inside the connection's callback: it is reported by close().
  stream.on("error", (error) => (failure = error));
  const recorder = jsonLinesRecorder((line) => {
    if (failure === null) stream.write(line);
  }, options);
  return {
    record: recorder.record,
    get bytes() {
      return recorder.bytes;
    },
    get truncated() {
      return recorder.truncated;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        const settle = (): void => (failure === null ? resolve() : reject(new Error(`could not write the trace to ${path}: ${failure.message}`)));
        if (stream.closed) return settle();
        // 'close' follows both 'finish' and 'error' (autoDestroy): settle once the file is done with.
        stream.once("close", settle);
        stream.end();
      }),
  };
}
