/**
 * Summarises a `node --cpu-prof` profile of a server for the optimisation work of issue #19:
 * the functions with the most self time, self time per source file, and where the samples go by
 * kind of work. Only samples inside the benchmark's timed window are counted (the window's
 * monotonic-clock bounds are written beside the profile by ./run.ts; V8's profile clock and
 * process.hrtime are both CLOCK_MONOTONIC on Linux), so start-up and warm-up are left out.
 *
 * A sample is attributed to a kind by walking its stack from the leaf up and taking the first
 * frame that matches one (e.g. a native write under `Socket._writeGeneric` under the endpoint
 * counts as "socket write"; the endpoint code that called it counts only for its own frames).
 *
 * `tsx bench/e2e/profile.ts FILE.cpuprofile [WINDOW.json]` prints the summary of one profile.
 */
import { existsSync, readFileSync } from "node:fs";
import { basename } from "node:path";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  /** Samples' time counted (µs), idle excluded. */
  totalUs: number;
  idleUs: number;
  windowed: boolean;
  kinds: { kind: string; us: number }[];
  functions: { name: string; us: number }[];
  files: { file: string; us: number }[];
}

/** Kinds of work, tried from the leaf frame upwards; the first that matches a frame takes the sample. */
const KINDS: { kind: string; match: (frame: CallFrame) => boolean }[] = [
  { kind: "GC", match: (f) => f.functionName === "(garbage collector)" },
  { kind: "string decode/encode (TextDecoder, TextEncoder, Buffer utf8)", match: (f) => /^(decode|encode|encodeInto|utf8Write|utf8Slice|toString|byteLength|utf8ByteLength|fromStringFast|fromString)$/.test(f.functionName) && (f.url.startsWith("node:") || f.url === "") },
  { kind: "socket write (node:net, streams, libuv write)", match: (f) => /^node:(net|internal\/stream_base_commons|internal\/streams\/writable)$/.test(f.url) || /^(writeBuffer|writev|writeUtf8String|writeLatin1String)$/.test(f.functionName) },
  { kind: "zlib (permessage-deflate)", match: (f) => f.url === "node:zlib" || /zlib-engine|permessage-deflate/.test(f.url) },
  { kind: "socket read (onStreamRead, Readable push)", match: (f) => /^node:internal\/streams\/(readable|legacy)$/.test(f.url) || f.functionName === "onStreamRead" },
  { kind: "listener calls (node:events)", match: (f) => f.url === "node:events" },
  { kind: "masking (native masker)", match: (f) => /native-masker|bufferutil/.test(f.url) || f.functionName === "mask" || f.functionName === "unmask" },
  { kind: "decoder/encoder (codec/)", match: (f) => f.url.includes("/codec/") },
  { kind: "endpoint (src/node/endpoint.ts)", match: (f) => /\/src\/node\/endpoint\.(ts|js)$/.test(f.url) },
  { kind: "echo handler (bench server)", match: (f) => f.url.includes("/bench/e2e/servers/") || f.url.includes("/bench/e2e/.compiled/") },
  { kind: "connection, events, extensions (src/)", match: (f) => f.url.includes("/src/") },
  { kind: "statechart (machines/, xstate)", match: (f) => f.url.includes("/machines/") || f.url.includes("/xstate/") },
  { kind: "timers", match: (f) => f.url === "node:internal/timers" },
  { kind: "native, outside JS ((program): syscalls, libuv, epoll)", match: (f) => f.functionName === "(program)" },
  { kind: "other Node internals", match: (f) => f.url.startsWith("node:") },
];

export function summarizeProfile(file: string, windowFile?: string): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  let window: { start: number; end: number } | null = null;
  if (windowFile !== undefined && existsSync(windowFile)) {
    const bounds = JSON.parse(readFileSync(windowFile, "utf8")) as { startUs: string; endUs: string };
    window = { start: Number(bounds.startUs), end: Number(bounds.endUs) };
  }
  // A sample's time is the delta to the next sample.
  const selfUs = new Map<number, number>();
  let time = profile.startTime;
  let counted = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    time += profile.timeDeltas[i]!;
    const duration = profile.timeDeltas[i + 1] ?? 0;
    if (window !== null && (time < window.start || time > window.end)) continue;
    counted++;
    selfUs.set(profile.samples[i]!, (selfUs.get(profile.samples[i]!) ?? 0) + duration);
  }
  // A window that matched nothing means the clocks disagree: fall back to the whole profile.
  if (window !== null && counted === 0) return summarizeProfile(file);
  const kinds = new Map<string, number>();
  const functions = new Map<string, number>();
  const files = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)!.callFrame;
    if (frame.functionName === "(idle)") {
      idleUs += us;
      continue;
    }
    totalUs += us;
    const name = `${frame.functionName || "(anonymous)"} ${shortUrl(frame.url)}${frame.url ? `:${frame.lineNumber + 1}` : ""}`;
    functions.set(name, (functions.get(name) ?? 0) + us);
    const fileName = shortUrl(frame.url) || frame.functionName;
    files.set(fileName, (files.get(fileName) ?? 0) + us);
    let kind = "other";
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const callFrame = byId.get(at)!.callFrame;
      const found = KINDS.find((k) => k.match(callFrame));
      if (found !== undefined) {
        kind = found.kind;
        break;
      }
    }
    kinds.set(kind, (kinds.get(kind) ?? 0) + us);
  }
  const sorted = <K extends string>(map: Map<string, number>, key: K): ({ [P in K]: string } & { us: number })[] =>
    [...map].sort((a, b) => b[1] - a[1]).map(([name, us]) => ({ [key]: name, us }) as { [P in K]: string } & { us: number });
  return { totalUs, idleUs, windowed: window !== null, kinds: sorted(kinds, "kind"), functions: sorted(functions, "name"), files: sorted(files, "file") };
}

function shortUrl(url: string): string {
  const inRepo = /\/(src|codec|machines|bench)\/.*$/.exec(url);
  if (inRepo !== null) return inRepo[0].slice(1);
  const inModules = /node_modules\/.*$/.exec(url);
  return inModules !== null ? inModules[0] : url;
}

export function formatSummary(summary: ProfileSummary, top = 25): string {
  const share = (us: number): string => `${((us / summary.totalUs) * 100).toFixed(1)} %`;
  const lines = [
    `${(summary.totalUs / 1e6).toFixed(2)} s of samples${summary.windowed ? " in the timed window" : " (whole profile)"}, idle ${(summary.idleUs / 1e6).toFixed(2)} s (not in the shares)`,
    "",
    "| kind of work (leaf upwards) | share |",
    "|---|--:|",
    ...summary.kinds.map((k) => `| ${k.kind} | ${share(k.us)} |`),
    "",
    "| function (self time) | share |",
    "|---|--:|",
    ...summary.functions.slice(0, top).map((f) => `| \`${f.name}\` | ${share(f.us)} |`),
    "",
    "| file (self time) | share |",
    "|---|--:|",
    ...summary.files.slice(0, 15).map((f) => `| ${f.file} | ${share(f.us)} |`),
  ];
  return lines.join("\n");
}

if (process.argv[1] !== undefined && basename(process.argv[1]) === "profile.ts") {
  const [file, windowFile] = process.argv.slice(2);
  if (file === undefined) throw new Error("usage: tsx bench/e2e/profile.ts FILE.cpuprofile [WINDOW.json]");
  console.log(formatSummary(summarizeProfile(file, windowFile)));
}
