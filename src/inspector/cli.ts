#!/usr/bin/env node
/**
 * `npx wsmachine-inspect [--port N] [--interval MS] [--redact]` (in the repository:
 * `npm run inspect -- …`): start the offline inspector and print `inspector http://127.0.0.1:<port>/`.
 * `--interval 0` runs no demo client: only the connections made to /echo are shown.
 * `--page FILE` writes the page as one standalone HTML file (for trace files, no server) and exits.
 */
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { renderStandalonePage, startInspector } from "./server.js";

const USAGE =
  "usage: wsmachine-inspect [--port 8089] [--interval 1500 (ms between demo clients; 0: none)] [--redact (no payload previews)]\n" +
  "       wsmachine-inspect --page inspector.html (write the standalone page, to open trace files from disk)";

async function main(): Promise<void> {
  let values: { port: string; interval: string; redact: boolean; help: boolean; page?: string };
  try {
    ({ values } = parseArgs({
      options: {
        port: { type: "string", default: "8089" },
        interval: { type: "string", default: "1500" },
        redact: { type: "boolean", default: false },
        page: { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    }) as { values: typeof values });
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
    process.exit(2);
  }
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (values.page !== undefined) {
    writeFileSync(values.page, renderStandalonePage());
    console.log(`wrote ${values.page}: open it in a browser, then open or drop a trace file`);
    return;
  }
  const port = Number(values.port);
  const interval = Number(values.interval);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`--port must be a port number, not ${values.port}\n${USAGE}`);
    process.exit(2);
  }
  if (!Number.isFinite(interval) || interval < 0) {
    console.error(`--interval must be milliseconds (0: no demo clients), not ${values.interval}\n${USAGE}`);
    process.exit(2);
  }
  const inspector = await startInspector({ port, demoInterval: interval, hub: { redact: values.redact } });
  console.log(`inspector ${inspector.url}`);
  console.log(`echo server ${inspector.echoUrl} (every connection to it is inspected)`);
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    void inspector.close().then(() => process.exit(0));
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

await main();
