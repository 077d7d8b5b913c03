/**
 * The decoder's hot path stays optimized across full GCs that find no decoded frame alive, as
 * happens between messages (see DecodedFrame.retained in codec/frame-decoder.ts). Checked with
 * V8's own optimization status, in a child process that has the flags for it.
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/** V8's OptimizationStatus bit for "has optimized code" (src/runtime/runtime.h, kOptimized). */
const OPTIMIZED = 1 << 4;

describe("FrameDecoder under V8", () => {
  it("keeps readDataPayload optimized through full GCs with no frame alive", () => {
    const fixture = fileURLToPath(new URL("./fixtures/decoder-maps-gc.mjs", import.meta.url));
    const output = execFileSync(process.execPath, ["--allow-natives-syntax", "--expose-gc", "--import", "tsx", fixture], {
      encoding: "utf8",
    });
    const { before, after } = JSON.parse(output) as { before: number; after: number };
    // Without this the check below would prove nothing.
    expect(before & OPTIMIZED, `status before the GCs: ${before.toString(2)}`).not.toBe(0);
    expect(after & OPTIMIZED, `status after the GCs: ${after.toString(2)}`).not.toBe(0);
  });
});
