/** Shared helpers for the handshake codec tests. */
import type { Extension } from "../../../codec/extension.js";
import { NO_RSV_BITS, type Opcode, type RsvBits } from "../../../codec/frame.js";
import { RemoteProtocolError } from "../../../codec/errors.js";
import { expect } from "vitest";

export const enc = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
export const dec = (b: Uint8Array): string => String.fromCharCode(...b);

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Split `bytes` at the given cut points (sorted, deduplicated, clamped). */
export function splitAt(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => Math.max(0, Math.min(bytes.length, c))))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(bytes.slice(prev, p));
    prev = p;
  }
  out.push(bytes.slice(prev));
  return out;
}

/** Run `f`, expecting a RemoteProtocolError; returns it. */
export function remoteError(f: () => unknown): RemoteProtocolError {
  try {
    f();
  } catch (error) {
    expect(error).toBeInstanceOf(RemoteProtocolError);
    return error as RemoteProtocolError;
  }
  throw new Error("expected a RemoteProtocolError");
}

export interface FakeExtensionOptions {
  name?: string;
  offer?: string | boolean;
  /** Server: the answer for each offer (by call order), or a function of the offer. */
  accept?: ((offer: string) => string | boolean | null) | Array<string | boolean | null>;
  /** Client: throw this message from finalize. */
  finalizeError?: string;
}

/** An Extension that records the calls the handshake makes. */
export class FakeExtension implements Extension {
  readonly name: string;
  readonly rsvBits: RsvBits = NO_RSV_BITS;
  readonly offers: string[] = [];
  readonly finalized: string[] = [];
  #enabled = false;
  #options: FakeExtensionOptions;

  constructor(options: FakeExtensionOptions = {}) {
    this.name = options.name ?? "fake";
    this.#options = options;
  }

  enabled(): boolean {
    return this.#enabled;
  }

  offer(): string | boolean {
    return this.#options.offer ?? true;
  }

  accept(offer: string): string | boolean | null {
    this.offers.push(offer);
    const a = this.#options.accept;
    const answer = a === undefined ? true : typeof a === "function" ? a(offer) : (a[this.offers.length - 1] ?? null);
    if (answer !== null && answer !== false) this.#enabled = true;
    return answer;
  }

  finalize(offer: string): void {
    if (this.#options.finalizeError !== undefined) throw new Error(this.#options.finalizeError);
    this.finalized.push(offer);
    this.#enabled = true;
  }

  frameInboundHeader(_opcode: Opcode, _rsv: RsvBits, _payloadLength: number): RsvBits {
    return NO_RSV_BITS;
  }

  frameInboundPayloadData(data: Uint8Array, _budget: number): Uint8Array {
    return data;
  }

  frameInboundComplete(_fin: boolean, _budget: number): Uint8Array | null {
    return null;
  }

  frameOutbound(_opcode: Opcode, rsv: RsvBits, data: Uint8Array, _fin: boolean): { rsv: RsvBits; data: Uint8Array } {
    return { rsv, data };
  }
}
