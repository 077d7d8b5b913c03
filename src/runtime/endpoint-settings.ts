/**
 * An endpoint's settings (its options with the defaults filled in) as one object shared by every
 * endpoint made with the same options: a server passes one options object to all its endpoints,
 * and seven fields (plus the watchdog's limits object) copied into each idle connection were
 * memory held for nothing (bench:e2e R1, docs/performance.md). The shared object is reused only
 * while the options still say the same (a caller may change its options object between two
 * endpoints), so an endpoint always gets what its options said when it was made.
 */
import type { MemoryBudget } from "../../codec/memory-budget.js";
import { DEFAULT_CLOSE_TIMEOUT, DEFAULT_HIGH_WATER_MARK, type EndpointOptions, type RequestHandler } from "./endpoint-types.js";
import type { WatchdogLimits } from "./watchdog.js";

export interface EndpointSettings<Owner> {
  readonly autoPong: boolean;
  readonly autoCloseReply: boolean;
  readonly closeTimeout: number;
  readonly highWaterMark: number;
  readonly handleRequest: RequestHandler<Owner> | null;
  readonly awaitMessageListeners: boolean;
  readonly memoryBudget: MemoryBudget | null;
  readonly watchdogLimits: Readonly<WatchdogLimits>;
}

const shared = new WeakMap<object, EndpointSettings<never>>();

export function endpointSettings<Owner>(options: EndpointOptions<Owner>): EndpointSettings<Owner> {
  const cached = shared.get(options) as EndpointSettings<Owner> | undefined;
  if (cached !== undefined && sameSettings(cached, options)) return cached;
  const settings: EndpointSettings<Owner> = Object.freeze({
    autoPong: options.autoPong ?? true,
    autoCloseReply: options.autoCloseReply ?? true,
    closeTimeout: options.closeTimeout ?? DEFAULT_CLOSE_TIMEOUT,
    highWaterMark: options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK,
    handleRequest: options.handleRequest ?? null,
    awaitMessageListeners: options.awaitMessageListeners ?? true,
    memoryBudget: options.memoryBudget ?? null,
    watchdogLimits: Object.freeze({
      idleTimeout: options.idleTimeout ?? 0,
      pingInterval: options.pingInterval ?? 0,
      messageTimeout: options.messageTimeout ?? 0,
    }),
  });
  shared.set(options, settings as EndpointSettings<never>);
  return settings;
}

function sameSettings<Owner>(settings: EndpointSettings<Owner>, options: EndpointOptions<Owner>): boolean {
  const limits = settings.watchdogLimits;
  return (
    settings.autoPong === (options.autoPong ?? true) &&
    settings.autoCloseReply === (options.autoCloseReply ?? true) &&
    settings.closeTimeout === (options.closeTimeout ?? DEFAULT_CLOSE_TIMEOUT) &&
    settings.highWaterMark === (options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK) &&
    settings.handleRequest === (options.handleRequest ?? null) &&
    settings.awaitMessageListeners === (options.awaitMessageListeners ?? true) &&
    settings.memoryBudget === (options.memoryBudget ?? null) &&
    limits.idleTimeout === (options.idleTimeout ?? 0) &&
    limits.pingInterval === (options.pingInterval ?? 0) &&
    limits.messageTimeout === (options.messageTimeout ?? 0)
  );
}
