// After `tsc -p tsconfig.build.json`: copy the inspector page's static files (plain HTML, CSS and
// browser JavaScript, which tsc does not emit) next to the built server, which reads them from
// ./page/ beside itself (src/inspector/server.ts). Plain Node, no dependencies.
import { cpSync, rmSync } from "node:fs";

const from = new URL("../src/inspector/page/", import.meta.url);
const to = new URL("../dist/src/inspector/page/", import.meta.url);
rmSync(to, { recursive: true, force: true });
cpSync(from, to, { recursive: true });
// Silent: `npm pack --json` prints this script's output before its JSON.
