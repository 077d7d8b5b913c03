/**
 * The scripts as a user runs them (each through tsx in its own process): the demo of `npm
 * start`, the echo server of `npm run echo-server` and the echo client of `npm run echo-client`:
 * against each other, the server against a ws client, and the client against a broken echo
 * server (it must fail). The client against ws's server is the same battery, run in-process in
 * ws-interop.test.ts.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MESSAGE_SIZES, MULTI_BYTE_TEXT, bytesOfSize } from "../../examples/echo-battery.js";
import { openWsClient, sameBytes, startWsEchoServer, within, wsClosed, wsInbox, type WsEchoServer } from "./helpers.js";

const root = fileURLToPath(new URL("../../", import.meta.url));

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run `examples/<script>` with tsx, as the package.json scripts do. */
function start(script: string, args: string[] = []): ChildProcess {
  return spawn(process.execPath, ["--import", "tsx", `examples/${script}`, ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
}

function finished(child: ChildProcess, timeout: number): Promise<Finished> {
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  return within(
    new Promise<Finished>((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr }))),
    timeout,
    `${child.spawnargs.slice(3).join(" ")} finishing`,
  );
}

function run(script: string, args: string[], timeout = 30_000): Promise<Finished> {
  return finished(start(script, args), timeout);
}

function lines(text: string): string[] {
  return text.split("\n").filter((line) => line !== "");
}

describe("npm start (examples/demo.ts)", () => {
  it("exchanges text, binary, a ping and a close, prints both lifecycles, and exits 0 by itself", async () => {
    const result = await run("demo.ts", [], 20_000);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const output = lines(result.stdout);
    for (const expected of [
      "[server] CONNECTING → OPEN",
      "[client] CONNECTING → OPEN",
      "[client] OPEN → LOCAL_CLOSING",
      "[server] OPEN → REMOTE_CLOSING",
      "[server] REMOTE_CLOSING → CLOSED",
      "[client] LOCAL_CLOSING → CLOSED",
      '[client] closed: code 1000, reason "demo finished", clean: true',
    ]) {
      expect(output).toContain(expected);
    }
    expect(output.some((line) => line.startsWith("[client] received text"))).toBe(true);
    expect(output.some((line) => line.startsWith("[client] received binary"))).toBe(true);
    expect(output.some((line) => line.startsWith("[client] pong received"))).toBe(true);
  });
});

describe("npm run echo-server / echo-client", () => {
  let server: ChildProcess;
  let serverOutput: Promise<Finished>;
  let url: string;
  let brokenServer: WsEchoServer;

  beforeAll(async () => {
    server = start("echo-server.ts", ["--port", "0"]);
    serverOutput = finished(server, 60_000);
    const firstLine = await within(
      new Promise<string>((resolve) => {
        let buffered = "";
        server.stdout!.on("data", (chunk: string) => {
          buffered += chunk;
          if (buffered.includes("\n")) resolve(buffered.slice(0, buffered.indexOf("\n")));
        });
      }),
      20_000,
      "the echo server's first line",
    );
    const match = /^listening ws:\/\/127\.0\.0\.1:(\d+)\/$/.exec(firstLine);
    expect(match, `first line was ${JSON.stringify(firstLine)}`).not.toBeNull();
    url = `ws://127.0.0.1:${match![1]}/`;
    // Echoes text reversed: every text check must fail, binary ones pass.
    brokenServer = await startWsEchoServer(false, (socket) => {
      socket.on("message", (data, isBinary) => {
        const bytes = data as Buffer;
        socket.send(isBinary ? bytes : [...bytes.toString("utf8")].reverse().join(""), { binary: isBinary });
      });
      return true;
    });
  }, 30_000);

  afterAll(async () => {
    server.kill("SIGTERM");
    await brokenServer?.close();
  });

  it("our echo client passes every check against our echo server, with and without permessage-deflate", async () => {
    const result = await run("echo-client.ts", [url]);
    const output = lines(result.stdout);
    expect(output.filter((line) => !line.startsWith("PASS "))).toEqual(["36 passed, 0 failed"]);
    expect(output.filter((line) => line.includes("[permessage-deflate]")).length).toBe(18);
    expect(result.code).toBe(0);
  });

  it("the echo server answers a ws client: sizes up to 1 MiB, permessage-deflate, ping, close code and reason", async () => {
    // (Our echo client against ws's echo server is the battery run in ws-interop.test.ts.)
    const client = await openWsClient(url, { perMessageDeflate: true });
    expect(client.extensions).toBe("permessage-deflate");
    const messages = wsInbox(client);
    for (const size of MESSAGE_SIZES) {
      const bytes = bytesOfSize(size, size);
      client.send(bytes);
      expect(sameBytes((await messages.next()).data as Uint8Array, bytes)).toBe(true);
    }
    client.send(MULTI_BYTE_TEXT);
    expect((await messages.next()).data).toBe(MULTI_BYTE_TEXT);
    const pong = new Promise<Buffer>((resolve) => client.once("pong", resolve));
    client.ping("p");
    expect((await within(pong, 5_000, "pong")).toString()).toBe("p");
    const closed = wsClosed(client);
    client.close(4321, "bye ✓");
    expect(await within(closed, 5_000, "close")).toEqual({ code: 4321, reason: "bye ✓" });
  });

  it("our echo client fails, and says so, against a server that echoes wrongly", async () => {
    const result = await run("echo-client.ts", [brokenServer.url, "--no-deflate"]);
    const output = lines(result.stdout);
    const failures = output.filter((line) => line.startsWith("FAIL "));
    // The 125/126… texts are not palindromes; the empty text and the binary checks pass.
    expect(failures.length).toBeGreaterThanOrEqual(7);
    expect(failures.every((line) => /text/.test(line))).toBe(true);
    expect(output.at(-1)).toBe(`${18 - failures.length} passed, ${failures.length} failed`);
    expect(result.code).toBe(1);
  });

  it("the echo server stops cleanly on SIGTERM", async () => {
    server.kill("SIGTERM");
    const result = await serverOutput;
    expect(result.code).toBe(0);
    expect(result.stderr).toBe("");
  });
});
