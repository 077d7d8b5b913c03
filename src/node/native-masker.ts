/**
 * An optional native masker for the Node entry: the `bufferutil` add-on (ws's optional
 * dependency) when it is installed, else nothing (the core keeps its portable masker). Never
 * required: the add-on is looked up at run time inside try/catch. (Node itself has no masking
 * function to offer: node:http exports none, and loading node:http to look cost every server
 * ~0.12 MB of resident heap.)
 *
 * Native masking costs a call into C++ (tens of nanoseconds), which a short payload does not
 * repay: below NATIVE_MIN bytes the portable masker runs (ws draws the same line at 32/48).
 */
import { createRequire } from "node:module";
import { markStandardMasker, portableMasker, setMasker, type Masker } from "../../codec/mask.js";

type NativeMask = (source: Uint8Array, key: Uint8Array, target: Uint8Array, offset: number, length: number) => void;
type NativeUnmask = (buffer: Uint8Array, key: Uint8Array) => void;

/** Below this many bytes the portable masker is faster than a call into native code. */
const NATIVE_MIN = 64;

function wrap(mask: NativeMask, unmask: NativeUnmask): Masker {
  return markStandardMasker(Object.freeze({
    mask(source: Uint8Array, key: Uint8Array, target: Uint8Array, targetOffset: number): void {
      if (source.length < NATIVE_MIN) portableMasker.mask(source, key, target, targetOffset);
      else mask(source, key, target, targetOffset, source.length);
    },
    unmask(buffer: Uint8Array, key: Uint8Array): void {
      if (buffer.length < NATIVE_MIN) portableMasker.unmask(buffer, key);
      else unmask(buffer, key);
    },
  }));
}

export interface NativeMasker {
  /** Where it comes from: the "bufferutil" add-on. */
  source: "bufferutil";
  masker: Masker;
}

let found: NativeMasker | null | undefined;

/** The native masker this process can use, or null (found once, then remembered). */
export function nativeMasker(): NativeMasker | null {
  if (found !== undefined) return found;
  found = null;
  try {
    const bufferUtil = createRequire(import.meta.url)("bufferutil") as { mask?: NativeMask; unmask?: NativeUnmask };
    // bufferutil falls back to plain JavaScript when its add-on cannot load; that is no faster.
    const { mask, unmask } = bufferUtil;
    if (typeof mask === "function" && typeof unmask === "function" && /\[native code\]/.test(unmask.toString())) {
      found = { source: "bufferutil", masker: wrap(mask, unmask) };
    }
  } catch {
    // Not installed: the portable masker stays.
  }
  return found;
}

/**
 * Makes the native masker (if any) the process-wide default for codecs created afterwards.
 * Returns its source, or null when none is available (the default is then left as it was).
 */
export function useNativeMasker(): NativeMasker["source"] | null {
  const native = nativeMasker();
  if (native !== null) setMasker(native.masker);
  return native?.source ?? null;
}
