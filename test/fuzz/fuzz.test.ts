/**
 * Bounded fuzzing in the normal suite: each property of ./properties.ts for about 1.5 s (or its
 * run count, whichever ends first). `npm run fuzz` runs the same properties for longer.
 */
import fc from "fast-check";
import { describe, it } from "vitest";
import { PROPERTIES } from "./properties.js";

const TIME_LIMIT_MS = 1500;

describe("fuzz (bounded)", () => {
  it.each(PROPERTIES.map((p) => [p.name, p] as const))("%s", (_name, { property }) => {
    fc.assert(property, { numRuns: 100_000, plugins: [fc.interruptAfterTimeLimit(TIME_LIMIT_MS)] });
  });
});
