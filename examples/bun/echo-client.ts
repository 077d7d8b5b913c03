/**
 * `npm run echo-client:bun -- <url> [--no-deflate] [--only-deflate]`: the echo battery with
 * wsmachine/bun's client; exits 0 only when every check passed.
 */
import { connect } from "../../src/bun/index.js";
import { echoClientMain } from "../portable-echo.js";

declare const Bun: { argv: string[] };

process.exit(await echoClientMain(Bun.argv.slice(2), connect));
