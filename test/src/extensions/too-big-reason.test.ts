/**
 * An inflater that passes its budget fails with a reason that does not depend on the budget it
 * was given: the budget left depends on how the message was chunked, and the close reason a
 * peer is sent must not (the fuzzer's mutated-chunking property found "(1 bytes left)" against
 * "(0 bytes left)" for the same message).
 */
import { deflateRawSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { InflateError, pakoEngine } from "../../../src/index.js";

function tooBig(budget: number): InflateError {
  const compressed = new Uint8Array(deflateRawSync(Buffer.alloc(120)));
  try {
    pakoEngine.createInflater(15).push(compressed, budget, true);
  } catch (error) {
    if (error instanceof InflateError) return error;
    throw error;
  }
  throw new Error(`inflating 120 bytes within ${budget} did not fail`);
}

describe("pakoEngine: inflating past the budget", () => {
  it("fails 'too-big' with the same message whatever budget was left", () => {
    const reasons = [0, 1, 7, 100].map((budget) => tooBig(budget));
    for (const error of reasons) expect(error.kind).toBe("too-big");
    expect(new Set(reasons.map((error) => error.message)).size).toBe(1);
    expect(reasons[0]!.message).toContain("size limit");
  });
});
