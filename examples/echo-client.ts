/**
 * `npm run echo-client -- <url> [--no-deflate] [--only-deflate]`: runs the echo battery
 * (examples/echo-battery.ts) against any echo server, once without and once with
 * permessage-deflate. Prints one line per check and finally `N passed, N failed`; exits 0 only
 * when every check passed.
 */
import { parseArgs } from "node:util";
import { runEchoBattery, type CheckResult } from "./echo-battery.js";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    "no-deflate": { type: "boolean", default: false },
    "only-deflate": { type: "boolean", default: false },
  },
});
const url = positionals[0];
if (url === undefined) {
  console.error("usage: npm run echo-client -- <ws://host:port/path> [--no-deflate] [--only-deflate]");
  process.exit(2);
}

const print = (result: CheckResult): void => {
  console.log(`${result.ok ? "PASS" : "FAIL"} ${result.name}${result.detail === "" ? "" : ` — ${result.detail}`}`);
};

const passes: boolean[] = [];
if (!values["only-deflate"]) passes.push(false);
if (!values["no-deflate"]) passes.push(true);
const results: CheckResult[] = [];
for (const deflate of passes) results.push(...(await runEchoBattery(url, { deflate, onResult: print })));

const passed = results.filter((result) => result.ok).length;
const failed = results.length - passed;
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 && passed > 0 ? 0 : 1;
