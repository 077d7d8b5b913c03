/**
 * The echo battery (./echo-battery-core.ts) with wsmachine/node's client, as `npm run
 * echo-client` and the Node tests run it.
 */
import { connect } from "../src/node/index.js";
import { runEchoBattery as runWith, type BatteryOptions, type CheckResult } from "./echo-battery-core.js";

export { MESSAGE_SIZES, MULTI_BYTE_TEXT, bytesOfSize, textOfSize, type CheckResult } from "./echo-battery-core.js";

/** Run every check against the echo server at `url` with wsmachine/node's connect(). */
export function runEchoBattery(url: string, options: Omit<BatteryOptions, "connect">): Promise<CheckResult[]> {
  return runWith(url, { ...options, connect });
}
