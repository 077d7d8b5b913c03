/**
 * `npm run echo-client:deno -- <url> [--no-deflate] [--only-deflate]`: the echo battery with
 * wsmachine/deno's client; exits 0 only when every check passed.
 */
import { connect } from "../../src/deno/index.js";
import { echoClientMain } from "../portable-echo.js";

declare const Deno: { args: string[]; exit(code: number): never };

Deno.exit(await echoClientMain(Deno.args, connect));
