/**
 * What the Node entry does faster than the portable core, chosen once: native deflate for
 * permessage-deflate (node:zlib, ./zlib-engine.ts), a native masker (./native-masker.ts) when
 * one is available, Node's own UTF-8 validator (`buffer.isUtf8`, for text handled as bytes:
 * `textAs: "bytes"`, `TextBytesMessage`), and uninitialised allocation for the arrays the codec overwrites whole
 * (./allocator.ts). The first two fall back to the portable code silently; none is required.
 */
import { isUtf8 } from "node:buffer";
import { setUtf8Validator } from "../../codec/utf8-validation.js";
import { PerMessageDeflate, type PerMessageDeflateOptions } from "../extensions/permessage-deflate.js";
import { useUninitializedAllocator } from "./allocator.js";
import { useNativeMasker } from "./native-masker.js";
import { nodeZlibEngine } from "./zlib-engine.js";

let maskerChosen = false;

/** Plug the native masker, the UTF-8 validator and the allocator, once per process (process-wide, as in ws). */
export function useNodeAccelerations(): void {
  if (maskerChosen) return;
  maskerChosen = true;
  useNativeMasker();
  // Validates without building a string (the portable default asks TextDecoder, which does).
  setUtf8Validator(isUtf8);
  useUninitializedAllocator();
}

/** A PerMessageDeflate compressing with node:zlib unless the options name an engine. */
export function nodePerMessageDeflate(options: PerMessageDeflateOptions = {}): PerMessageDeflate {
  const engine = options.engine ?? nodeZlibEngine() ?? undefined;
  return new PerMessageDeflate(engine === undefined ? options : { ...options, engine });
}
