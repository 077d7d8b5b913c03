/**
 * wsmachine/deno and wsmachine/bun under the real runtimes (the `deno` and `bun`
 * devDependencies' binaries; nothing is downloaded): each runtime's echo server, started as
 * `npm run echo-server:deno` / `echo-server:bun` start it, passes the echo battery run by
 * wsmachine/node's client, and each runtime's client (`echo-client:deno` / `echo-client:bun`)
 * passes it against a wsmachine/node echo server. Both ways the battery's 36 checks (sizes 0–1
 * MiB, multi-byte text, fragments with a ping between, ping/pong, close code and reason, with
 * and without permessage-deflate) must all pass.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runEchoBattery } from "../../examples/echo-battery.js";
import { connect, createWebSocketServer, type WebSocketServer } from "../../src/node/index.js";
import { within } from "../node/helpers.js";
import { runtimeBinary } from "../package/runtimes.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const denoDir = mkdtempSync(join(tmpdir(), "wsmachine-deno-"));

/** The command line of the package.json script `echo-<role>:<runtime>`, with the runtime's binary. */
function command(runtime: "deno" | "bun", script: "echo-server" | "echo-client", args: string[]): { file: string; args: string[]; env: NodeJS.ProcessEnv } {
  const binary = runtimeBinary(root, runtime).path;
  if (runtime === "deno") {
    return {
      file: binary,
      args: ["run", "--quiet", "--sloppy-imports", "--allow-net", `examples/deno/${script}.ts`, ...args],
      env: { ...process.env, DENO_DIR: denoDir, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
    };
  }
  return { file: binary, args: [`examples/bun/${script}.ts`, ...args], env: { ...process.env, DO_NOT_TRACK: "1", NO_COLOR: "1" } };
}

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

function collect(child: ChildProcess, timeout: number, what: string): Promise<Finished> {
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  return within(new Promise<Finished>((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr }))), timeout, what);
}

function firstLine(child: ChildProcess, what: string): Promise<string> {
  return within(
    new Promise<string>((resolve) => {
      let buffered = "";
      child.stdout!.on("data", (chunk: Buffer | string) => {
        buffered += String(chunk);
        if (buffered.includes("\n")) resolve(buffered.slice(0, buffered.indexOf("\n")));
      });
    }),
    20_000,
    what,
  );
}

afterAll(() => rmSync(denoDir, { recursive: true, force: true }));

for (const runtime of ["deno", "bun"] as const) {
  describe(`wsmachine/${runtime} (${runtime} ${runtimeBinary(root, runtime).version})`, () => {
    let server: ChildProcess;
    let serverExit: Promise<Finished>;
    let url: string;
    let nodeServer: WebSocketServer;

    beforeAll(async () => {
      const { file, args, env } = command(runtime, "echo-server", ["--port", "0"]);
      server = spawn(file, args, { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
      const line = firstLine(server, `the ${runtime} echo server's first line`);
      serverExit = collect(server, 120_000, `the ${runtime} echo server`);
      const first = await line;
      const match = /^listening ws:\/\/127\.0\.0\.1:(\d+)\/$/.exec(first);
      expect(match, `first line was ${JSON.stringify(first)}`).not.toBeNull();
      url = `ws://127.0.0.1:${match![1]}/`;
      nodeServer = createWebSocketServer({ perMessageDeflate: true }, (endpoint) => {
        endpoint.on("message", (data) => {
          if (data === "close-me") endpoint.close(4002, "as asked");
          else endpoint.send(data);
        });
        endpoint.on("error", () => {});
      });
      await nodeServer.listen();
    }, 30_000);

    afterAll(async () => {
      if (server.exitCode === null) server.kill("SIGTERM");
      await nodeServer?.close();
    });

    it(`its echo server passes the battery run by wsmachine/node's client, with and without permessage-deflate`, async () => {
      for (const deflate of [false, true]) {
        const results = await runEchoBattery(url, { deflate });
        expect(results.filter((result) => !result.ok)).toEqual([]);
        expect(results.length).toBe(18);
      }
    });

    it(`its client passes the battery against a wsmachine/node echo server`, async () => {
      const { file, args, env } = command(runtime, "echo-client", [nodeServer.url]);
      const result = await collect(spawn(file, args, { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] }), 60_000, `the ${runtime} echo client`);
      const lines = result.stdout.split("\n").filter((line) => line !== "");
      expect(lines.filter((line) => !line.startsWith("PASS ")), result.stderr).toEqual(["36 passed, 0 failed"]);
      expect(result.code).toBe(0);
    });

    it(`its endpoint returns false instead of throwing once closed, pauses and resumes, and reports the close`, async () => {
      const binary = runtimeBinary(root, runtime).path;
      const script = "test/runtimes/fixtures/contract.ts";
      const args = runtime === "deno" ? ["run", "--quiet", "--sloppy-imports", "--allow-net", script, "deno", nodeServer.url] : [script, "bun", nodeServer.url];
      const env = runtime === "deno" ? { ...process.env, DENO_DIR: denoDir, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" } : { ...process.env, NO_COLOR: "1" };
      const result = await collect(spawn(binary, args, { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] }), 30_000, `the ${runtime} contract script`);
      expect(result.stderr).toBe("");
      expect(JSON.parse(result.stdout)).toEqual({
        state: "OPEN",
        whilePaused: [],
        isPaused: true,
        afterResume: ["one", 100000],
        closed: { code: 4002, reason: "as asked", wasClean: true },
        sendAfterClose: false,
        pingAfterClose: false,
        closeAfterClose: false,
        finalState: "CLOSED",
        secondClose: [true, false, false],
        secondClosed: { code: 1000, reason: "bye", wasClean: true },
        aborted: null,
      });
    });

    it(`its echo server closes its connections with 1001 and exits 0 on SIGTERM`, async () => {
      const endpoint = await connect(url, { perMessageDeflate: false });
      expect(endpoint.send("still here")).toBe(true);
      const [echo] = (await within(once(endpoint, "message"), 5_000, "the echo")) as [string];
      expect(echo).toBe("still here");
      server.kill("SIGTERM");
      expect(await within(endpoint.closed, 10_000, "the server's close")).toEqual({ code: 1001, reason: "", wasClean: true });
      // The connection moved on: sending now does nothing and says so.
      expect(endpoint.send("too late")).toBe(false);
      expect(endpoint.close()).toBe(false);
      const exit = await serverExit;
      expect(exit.stderr).toBe("");
      expect(exit.code).toBe(0);
    });
  });
}
