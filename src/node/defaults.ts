/**
 * What the Node entry does faster than the portable core, chosen once: native deflate for
 * permessage-deflate (node:zlib, ./zlib-engine.ts), a native masker (./native-masker.ts) when
 * one is available, and uninitialised allocation for the arrays the codec overwrites whole
 * (./allocator.ts). The first two fall back to the portable code silently; none is required.
 */
import { PerMessageDeflate, type PerMessageDeflateOptions } from "../extensions/permessage-deflate.js";
import { useUninitializedAllocator } from "./allocator.js";
import { useNativeMasker } from "./native-masker.js";
import { nodeZlibEngine } from "./zlib-engine.js";

let maskerChosen = false;

/** Plug the native masker and the allocator, once per process (both are process-wide, as in ws). */
export function useNodeAccelerations(): void {
  if (maskerChosen) return;
  maskerChosen = true;
  useNativeMasker();
  useUninitializedAllocator();
}

/** A PerMessageDeflate compressing with node:zlib unless the options name an engine. */
export function nodePerMessageDeflate(options: PerMessageDeflateOptions = {}): PerMessageDeflate {
  const engine = options.engine ?? nodeZlibEngine() ?? undefined;
  return new PerMessageDeflate(engine === undefined ? options : { ...options, engine });
}
