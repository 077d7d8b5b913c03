/**
 * A peer's timing cannot crash a process: apps in child processes, real loopback sockets, and
 * the exit code checked. A client that pipelines "bye" and "hello" in one TCP write makes the
 * app send after its own close frame; SIGTERM while clients are busy makes every open endpoint
 * close while messages are still being delivered.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import { OP, closeBody, concat, frame } from "../conformance/wire.js";
import { openWsClient, within, wsClosed, wsInbox } from "./helpers.js";
import { delay, openRawPeer } from "./raw-peer.js";

const root = fileURLToPath(new URL("../../", import.meta.url));

interface Child {
  process: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** Start a TypeScript file under tsx; resolves once it printed a line matching `ready`. */
async function startChild(file: string, args: string[], ready: RegExp): Promise<{ child: Child; match: RegExpMatchArray }> {
  const process_ = spawn(process.execPath, ["--import", "tsx", file, ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  const exited = new Promise<number | null>((resolve) => process_.on("close", (code) => resolve(code)));
  process_.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const match = await within(
    new Promise<RegExpMatchArray>((resolve, reject) => {
      process_.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
        stdout += chunk;
        const found = stdout.match(ready);
        if (found !== null) resolve(found);
      });
      process_.on("close", () => reject(new Error(`${file} exited before it was ready: ${stderr}`)));
    }),
    20_000,
    `${file} starting`,
  );
  return { child: { process: process_, output: () => stdout + stderr, exited }, match };
}

describe("an app that sends after its own close does not crash", () => {
  it("survives a client that writes \"bye\" and \"hello\" in one TCP write, and exits 0 on SIGTERM", async () => {
    const { child, match } = await startChild("test/node/fixtures/bye-app.ts", [], /listening (\d+)/);
    const port = Number(match[1]);
    for (let attempt = 0; attempt < 3; attempt++) {
      const peer = await openRawPeer(port);
      peer.socket.write(concat(frame({ opcode: OP.TEXT, payload: "bye" }, true), frame({ opcode: OP.TEXT, payload: "hello" }, true)));
      await delay(100);
      // The server's close frame arrived, and no echo of "hello" before it.
      expect(peer.received().subarray(0, 2)).toEqual(Uint8Array.of(0x88, 0x05));
      peer.socket.on("end", () => peer.socket.end());
      peer.socket.write(frame({ opcode: OP.CLOSE, payload: closeBody(1000) }, true));
      await within(peer.closed, 5_000, "the server closing TCP");
    }
    // Still serving: a new client gets its echo, and the app saw its sends refused (false).
    const client = await openWsClient(`ws://127.0.0.1:${port}/`);
    const inbox = wsInbox(client);
    client.send("refusals?");
    expect((await inbox.next()).data).toBe("refusals?");
    expect(Number((await inbox.next()).data)).toBeGreaterThanOrEqual(3);
    client.close(1000);
    await wsClosed(client);
    child.process.kill("SIGTERM");
    expect(await within(child.exited, 10_000, "the app exiting")).toBe(0);
    expect(child.output()).not.toMatch(/Error|throw/);
  });
});

describe("npm run echo-server: SIGTERM while clients are busy", () => {
  it("exits 0, five times out of five", async () => {
    for (let attempt = 0; attempt < 5; attempt++) {
      const { child, match } = await startChild("examples/echo-server.ts", ["--port", "0"], /listening (ws:\/\/\S+)/);
      const url = match[1]!;
      const clients: WebSocket[] = [];
      const closes: Array<Promise<{ code: number; reason: string }>> = [];
      for (let index = 0; index < 6; index++) {
        const client = await openWsClient(url);
        client.on("error", () => {});
        // Each client keeps 8 messages in flight, sending another whenever one comes back.
        client.on("message", () => {
          if (client.readyState === WebSocket.OPEN) client.send("busy ".repeat(20));
        });
        for (let inFlight = 0; inFlight < 8; inFlight++) client.send("busy ".repeat(20));
        clients.push(client);
        closes.push(within(wsClosed(client), 15_000, "the client seeing the close"));
      }
      await delay(150 + attempt * 40);
      child.process.kill("SIGTERM");
      const code = await within(child.exited, 15_000, "the echo server exiting");
      expect(code, child.output()).toBe(0);
      // Every busy client was closed with 1001 (going away) by the server's graceful close.
      expect((await Promise.all(closes)).map((close) => close.code)).toEqual(clients.map(() => 1001));
    }
  });
});
