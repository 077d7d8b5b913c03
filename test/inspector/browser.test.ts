/**
 * The offline inspector in a real browser: `npm run inspect`'s script started as a child
 * process (so its printed line is checked too), its page opened in headless Chromium (Debian's
 * `chromium` package, driven by playwright-core), a demo connection followed from CONNECTING to
 * CLOSED, and a screenshot saved to test-artifacts/inspector.png.
 *
 * Without Chromium this test fails and says how to install it, unless WSMACHINE_SKIP_BROWSER=1
 * (as test/browser).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, statSync, rmSync } from "node:fs";
import * as net from "node:net";
import { fileURLToPath } from "node:url";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectionMachine } from "../../src/index.js";
import { allNodes, statechartGraph } from "../../src/inspector/statechart-graph.js";

const CHROMIUM = process.env.WSMACHINE_CHROMIUM ?? "/usr/bin/chromium";
const SKIP = process.env.WSMACHINE_SKIP_BROWSER === "1";
const INSTALL_HINT =
  `Chromium was not found at ${CHROMIUM}; the inspector's browser test needs Debian's chromium package: ` +
  "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium " +
  "(.ci/run does this), or set WSMACHINE_SKIP_BROWSER=1 to skip it (WSMACHINE_CHROMIUM=/path picks another binary).";

const root = fileURLToPath(new URL("../../", import.meta.url));
const SCREENSHOT = `${root}test-artifacts/inspector.png`;

/** A port that was free a moment ago (the script is given an explicit --port, as a person would). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const port = (probe.address() as net.AddressInfo).port;
      probe.close(() => resolve(port));
    });
  });
}

/** Start the inspector script; `firstLine` resolves with the first line it prints. */
function startScript(port: number): { child: ChildProcess; firstLine: Promise<string> } {
  const child = spawn(process.execPath, ["--import", "tsx", "src/inspector/cli.ts", "--port", String(port), "--interval", "600"], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const firstLine = new Promise<string>((resolve, reject) => {
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => reject(new Error(`the inspector printed nothing within 15 s; stderr: ${stderr}`)), 15_000);
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout!.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      const end = stdout.indexOf("\n");
      if (end === -1) return;
      clearTimeout(timer);
      resolve(stdout.slice(0, end));
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the inspector exited with ${code}; stderr: ${stderr}`));
    });
  });
  return { child, firstLine };
}

if (SKIP) {
  // The default reporter shows only a count of skipped tests: say why, visibly.
  console.warn("inspector browser test (test/inspector/browser.test.ts) skipped: WSMACHINE_SKIP_BROWSER=1 is set");
  describe("offline inspector in headless Chromium", () => {
    it.skip("skipped because WSMACHINE_SKIP_BROWSER=1 is set", () => {});
  });
} else {
  describe("offline inspector in headless Chromium", () => {
    let browser: Browser | undefined;
    let script: ChildProcess | undefined;
    let port = 0;
    let firstLine = "";

    beforeAll(async () => {
      if (!existsSync(CHROMIUM)) throw new Error(INSTALL_HINT);
      port = await freePort();
      // Both start at once; afterAll stops whichever started, whatever failed.
      const started = startScript(port);
      script = started.child;
      const launching = chromium.launch({
        executablePath: CHROMIUM,
        args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
      });
      launching.then((launched) => (browser = launched), () => {});
      firstLine = await started.firstLine;
      await launching;
    }, 60_000);

    afterAll(async () => {
      await browser?.close();
      if (script !== undefined && script.exitCode === null) {
        const exited = new Promise((resolve) => script!.once("exit", resolve));
        script.kill("SIGTERM");
        await exited;
      }
    });

    it("prints exactly its URL, draws the whole statechart, and shows a demo connection's states in order", async () => {
      expect(firstLine).toBe(`inspector http://127.0.0.1:${port}/`);
      const page = await browser!.newPage({ viewport: { width: 1600, height: 900 } });
      const pageErrors: string[] = [];
      page.on("pageerror", (error) => pageErrors.push(error.message));
      await page.goto(`http://127.0.0.1:${port}/`);

      // The chart has a shape for every state of the machine definition, and is all local.
      const expectedStates = allNodes(statechartGraph(connectionMachine))
        .map((node) => node.id)
        .filter((id) => id !== "");
      const drawnStates = await page.locator("svg.chart g.state").evaluateAll((nodes) => nodes.map((node) => (node as SVGElement).dataset.state));
      expect(drawnStates.sort()).toEqual(expectedStates.sort());
      expect(await page.locator("script[src^='http'], link[href^='http']").count()).toBe(0);

      // Pick the newest demo client (the list is newest first), and wait until it has closed.
      await page.waitForSelector("#feed-status.connected");
      const client = page.locator("#connections li[data-role='client']").first();
      await client.waitFor({ timeout: 10_000 });
      const id = await client.getAttribute("data-id");
      // By its id: the list is redrawn as the feed runs, and "the newest" moves on.
      await page.locator(`#connections li[data-id='${id}']`).click();
      expect(await page.locator("#detail-title").innerText()).toMatch(new RegExp(`^#${id} client `));
      await page.waitForSelector(`#connections li[data-id='${id}'].closed`, { timeout: 15_000 });
      await page.waitForSelector("#lifecycle tr[data-top='CLOSED']");

      const tops = await page.locator("#lifecycle tr[data-changed='true']").evaluateAll((rows) => rows.map((row) => (row as HTMLElement).dataset.top));
      const visited = tops.filter((top, index) => top !== tops[index - 1]);
      expect(visited).toHaveLength(4);
      expect(visited[0]).toBe("CONNECTING");
      expect(visited[1]).toBe("OPEN");
      expect(["LOCAL_CLOSING", "REMOTE_CLOSING"]).toContain(visited[2]);
      expect(visited[3]).toBe("CLOSED");

      // Its frames: the demo's text, binary, ping and close, each way.
      const frames = await page.locator("#frames tr[data-opcode]").evaluateAll((rows) => rows.map((row) => `${(row as HTMLElement).dataset.direction} ${(row as HTMLElement).dataset.opcode}`));
      for (const frame of ["out text", "in text", "out binary", "in binary", "out ping", "in pong", "out close", "in close"]) expect(frames).toContain(frame);
      // The selected connection's final state is highlighted on the chart.
      expect(await page.locator("svg.chart g.state.current[data-state='CLOSED']").count()).toBe(1);

      rmSync(SCREENSHOT, { force: true });
      mkdirSync(`${root}test-artifacts`, { recursive: true });
      await page.screenshot({ path: SCREENSHOT });
      expect(statSync(SCREENSHOT).size).toBeGreaterThan(10_000);
      expect(pageErrors).toEqual([]);
    }, 40_000);
  });
}
