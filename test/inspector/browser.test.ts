/**
 * The inspector as a user of the package gets it, in a real browser: the package is built and
 * packed (`npm run build`, `npm pack`), unpacked into a scratch node_modules, and its
 * `wsmachine-inspect` command started from there; the page (served by it) is opened in headless
 * Chromium (Debian's `chromium`, driven by playwright-core). A peer sending an unmasked frame
 * fails a connection: its route is drawn with numbered steps, in red; the filters and the list
 * are exercised; its recorded trace is opened in the standalone page from disk (no server) and
 * stepped through. Screenshots go to test-artifacts/ (docs/inspector-*.png are copies).
 *
 * Without Chromium this test fails and says how to install it, unless WSMACHINE_SKIP_BROWSER=1.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectionMachine, parseTrace } from "../../src/index.js";
import { allNodes, statechartGraph } from "../../src/inspector/statechart-graph.js";

const CHROMIUM = process.env.WSMACHINE_CHROMIUM ?? "/usr/bin/chromium";
const SKIP = process.env.WSMACHINE_SKIP_BROWSER === "1";
const INSTALL_HINT =
  `Chromium was not found at ${CHROMIUM}; the inspector's browser test needs Debian's chromium package: ` +
  "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium " +
  "(.ci/run does this), or set WSMACHINE_SKIP_BROWSER=1 to skip it (WSMACHINE_CHROMIUM=/path picks another binary).";

const root = fileURLToPath(new URL("../../", import.meta.url));
const ARTIFACTS = `${root}test-artifacts`;

/** A port that was free a moment ago (the command is given an explicit --port, as a person would). */
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

/** Build, pack and unpack the package into `directory`/node_modules/wsmachine; returns its bin's path. */
function installPackage(directory: string): string {
  execFileSync("npm", ["run", "build"], { cwd: root, stdio: "pipe" });
  const packed = JSON.parse(execFileSync("npm", ["pack", "--json", "--pack-destination", directory], { cwd: root, encoding: "utf8" })) as Array<{ filename: string }>;
  const modules = join(directory, "node_modules");
  mkdirSync(modules);
  execFileSync("tar", ["-xzf", join(directory, packed[0]!.filename), "-C", modules]);
  execFileSync("mv", [join(modules, "package"), join(modules, "wsmachine")]);
  // Its dependencies, as npm would install them (from this checkout, so that nothing is downloaded).
  const manifest = JSON.parse(readFileSync(join(modules, "wsmachine", "package.json"), "utf8")) as { dependencies: Record<string, string>; bin: Record<string, string> };
  for (const name of Object.keys(manifest.dependencies)) {
    if (name.includes("/")) mkdirSync(join(modules, name.split("/")[0]!), { recursive: true });
    symlinkSync(join(root, "node_modules", name), join(modules, name));
  }
  return join(modules, "wsmachine", manifest.bin["wsmachine-inspect"]!);
}

/** Start the command; `firstLine` resolves with the first line it prints. */
function startCommand(bin: string, cwd: string, args: string[]): { child: ChildProcess; firstLine: Promise<string> } {
  const child = spawn(process.execPath, [bin, ...args], { cwd, stdio: ["ignore", "pipe", "pipe"] });
  const firstLine = new Promise<string>((resolve, reject) => {
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => reject(new Error(`wsmachine-inspect printed nothing within 15 s; stderr: ${stderr}`)), 15_000);
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
      reject(new Error(`wsmachine-inspect exited with ${code}; stderr: ${stderr}`));
    });
  });
  return { child, firstLine };
}

/** A peer that completes the handshake on /echo, then sends "hello" unmasked: the server fails it (1002). */
async function unmaskedPeer(port: number): Promise<void> {
  const socket = net.connect(port, "127.0.0.1");
  await new Promise((resolve) => socket.once("connect", resolve));
  socket.write("GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
  await new Promise((resolve) => socket.once("data", resolve));
  socket.write(Uint8Array.of(0x81, 0x05, 0x68, 0x65, 0x6c, 0x6c, 0x6f));
  socket.resume();
  await new Promise((resolve) => socket.once("close", resolve));
}

async function screenshot(page: Page, name: string): Promise<void> {
  const path = `${ARTIFACTS}/inspector-${name}.png`;
  rmSync(path, { force: true });
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path });
  expect(statSync(path).size).toBeGreaterThan(10_000);
}

const visibleIds = (page: Page): Promise<string[]> =>
  page.locator("#connections li:not([hidden])").evaluateAll((items) => items.map((item) => (item as HTMLElement).dataset.id!));

if (SKIP) {
  console.warn("inspector browser test (test/inspector/browser.test.ts) skipped: WSMACHINE_SKIP_BROWSER=1 is set");
  describe("inspector from the installed package in headless Chromium", () => {
    it.skip("skipped because WSMACHINE_SKIP_BROWSER=1 is set", () => {});
  });
} else {
  describe("inspector from the installed package in headless Chromium", () => {
    let browser: Browser | undefined;
    let command: ChildProcess | undefined;
    let port = 0;
    let firstLine = "";
    let directory = "";
    let bin = "";

    beforeAll(async () => {
      if (!existsSync(CHROMIUM)) throw new Error(INSTALL_HINT);
      directory = mkdtempSync(join(tmpdir(), "wsmachine-installed-"));
      bin = installPackage(directory);
      port = await freePort();
      const started = startCommand(bin, directory, ["--port", String(port), "--interval", "700"]);
      command = started.child;
      const launching = chromium.launch({
        executablePath: CHROMIUM,
        args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
      });
      launching.then((launched) => (browser = launched), () => {});
      firstLine = await started.firstLine;
      await launching;
    }, 120_000);

    afterAll(async () => {
      await browser?.close();
      if (command !== undefined && command.exitCode === null) {
        const exited = new Promise((resolve) => command!.once("exit", resolve));
        command.kill("SIGTERM");
        await exited;
      }
      if (directory !== "") rmSync(directory, { recursive: true, force: true });
    });

    it("shows a live failing connection's route, filters the list, keeps it still under the pointer", async () => {
      expect(firstLine).toBe(`inspector http://127.0.0.1:${port}/`);
      const page = await browser!.newPage({ viewport: { width: 1600, height: 900 } });
      const pageErrors: string[] = [];
      page.on("pageerror", (error) => pageErrors.push(error.message));
      await page.goto(`http://127.0.0.1:${port}/`);
      const expectedStates = allNodes(statechartGraph(connectionMachine)).map((node) => node.id).filter((id) => id !== "");
      const drawn = await page.locator("svg.chart g.state").evaluateAll((nodes) => nodes.map((node) => (node as SVGElement).dataset.state!));
      expect(drawn.sort()).toEqual(expectedStates.sort());
      expect(await page.locator("script[src^='http'], link[href^='http']").count()).toBe(0);
      // The chart fills its panel's width, and its labels are drawn at a readable size (at least
      // 10 px for a transition's, 11 px for a state's: the page once drew them at 8 px).
      const chartBox = (await page.locator("svg.chart").boundingBox())!;
      const panelBox = (await page.locator("#chart-panel").boundingBox())!;
      expect(chartBox.width).toBeGreaterThan(0.95 * panelBox.width - 20);
      const labelHeight = (selector: string): Promise<number> =>
        page.locator(selector).first().evaluate((text) => parseFloat(getComputedStyle(text).fontSize) * (text as SVGGraphicsElement).getScreenCTM()!.a);
      expect(await labelHeight("svg.chart .edge-label")).toBeGreaterThanOrEqual(10);
      expect(await labelHeight("svg.chart .state.depth-1 .state-label")).toBeGreaterThanOrEqual(11);

      // Zoom and fit: the viewBox narrows, then comes back whole.
      const viewBox = (): Promise<number[]> => page.locator("svg.chart").evaluate((svg) => svg.getAttribute("viewBox")!.split(" ").map(Number));
      const whole = await viewBox();
      await page.locator("#zoom-in").click();
      expect((await viewBox())[2]).toBeLessThan(whole[2]! * 0.9);
      await page.locator("svg.chart").dispatchEvent("wheel", { deltaY: 100, clientX: 300, clientY: 200 });
      await page.locator("#fit").click();
      expect(await viewBox()).toEqual(whole);

      await page.waitForSelector("#feed-status.connected");
      await unmaskedPeer(port);
      await page.locator("#filter-failed").check();
      const failed = page.locator("#connections li.failed:not([hidden])").first();
      await failed.waitFor({ timeout: 10_000 });
      expect(await failed.locator(".state").innerText()).toBe("CLOSED (1002)");
      const others = await page.locator("#connections li:not([hidden]):not(.failed)").count();
      expect(others).toBe(0);
      await failed.click();
      await page.mouse.move(5, 5);
      await expect.poll(() => page.locator("#detail-failure").innerText()).toMatch(/^failed: 1002 unmasked frame/);
      expect(await page.locator("#detail-title").getAttribute("class")).toContain("failed");

      // The whole route, numbered: requestReceived, OPEN.active, OPEN.failed, LOCAL_CLOSING.failed, CLOSED.
      expect(await page.locator("#path li").allInnerTexts()).toEqual(["CONNECTING.awaitingRequest", "CONNECTING.requestReceived", "OPEN.active", "OPEN.failed", "LOCAL_CLOSING.failed", "CLOSED"]);
      const marks = await page.locator("svg.chart g.step-mark").evaluateAll((nodes) => nodes.map((node) => (node as SVGElement).dataset.step));
      expect(marks.sort()).toEqual(["1", "2", "3", "4", "5"]);
      expect(await page.locator("svg.chart g.step-mark.failed").count()).toBe(1);
      for (const state of ["OPEN.failed", "LOCAL_CLOSING.failed"]) expect(await page.locator(`svg.chart g.state.visited[data-state='${state}']`).count()).toBe(1);
      expect(await page.locator("svg.chart g.state.current.failed-route[data-state='CLOSED']").count()).toBe(1);
      // The refused frame, with a preview of the bytes it came in.
      const refused = page.locator("#frames tr.refused");
      expect(await refused.locator("td.hex").innerText()).toBe("81 05 68 65 6c 6c 6f");
      expect(await refused.locator("td.text").innerText()).toBe("··hello");
      // "hide payloads" hides every preview.
      await page.locator("#redact").check();
      expect(await refused.locator("td.hex").isVisible()).toBe(false);
      await page.locator("#redact").uncheck();
      // The timeline marks it too.
      expect(await page.locator("#timeline .tl-row.failed .tl-seg.tl-failed").count()).toBeGreaterThan(0);

      // Filters: failed clients: none (the failed one is a server); search.
      await page.locator("#filter-role").selectOption("client");
      expect(await visibleIds(page)).toEqual([]);
      await page.locator("#filter-role").selectOption("");
      await page.locator("#filter-failed").uncheck();
      // Unfiltered, the failed connection stays selected and stands out among the clean ones.
      expect((await visibleIds(page)).length).toBeGreaterThan(1);
      expect(await page.locator("#connections li.selected.failed").count()).toBe(1);
      await screenshot(page, "live");
      await page.locator("#filter-role").selectOption("client");
      await page.locator("#search").fill("demo #1");
      const found = await page.locator("#connections li:not([hidden]) .label").allInnerTexts();
      expect(found.length).toBeGreaterThan(0);
      for (const label of found) expect(label).toMatch(/^demo #1/);
      await page.locator("#search").fill("");
      await page.locator("#filter-role").selectOption("");

      // Under the pointer the list holds still: new connections wait until it leaves.
      await page.locator("#connections").hover();
      const before = await page.locator("#connections li").count();
      await page.waitForSelector("#list-paused:not([hidden])", { timeout: 10_000 });
      expect(await page.locator("#connections li").count()).toBe(before);
      await page.mouse.move(5, 5);
      await expect.poll(() => page.locator("#connections li").count()).toBeGreaterThan(before);
      expect(pageErrors).toEqual([]);
      await page.close();
    }, 60_000);

    it("opens the failed connection's recorded trace in the standalone page from disk and steps through it", async () => {
      // The failed connection's trace, as the page's "download its trace" link serves it.
      const page = await browser!.newPage({ viewport: { width: 1600, height: 900 } });
      await page.goto(`http://127.0.0.1:${port}/`);
      await page.locator("#filter-failed").check();
      const id = await page.locator("#connections li.failed:not([hidden])").first().getAttribute("data-id");
      await page.close();
      const text = await (await fetch(`http://127.0.0.1:${port}/trace/${id}.jsonl`)).text();
      const lines = parseTrace(text);
      const tracePath = join(directory, "failed.jsonl");
      writeFileSync(tracePath, text);

      // The standalone page, written by the installed command, opened from disk: no server at all.
      const pagePath = join(directory, "inspector.html");
      execFileSync(process.execPath, [bin, "--page", pagePath], { cwd: directory });
      const offline = await browser!.newPage({ viewport: { width: 1600, height: 900 } });
      const requests: string[] = [];
      offline.on("request", (request) => requests.push(request.url()));
      const pageErrors: string[] = [];
      offline.on("pageerror", (error) => pageErrors.push(error.message));
      await offline.goto(pathToFileURL(pagePath).href);
      await offline.locator("#trace-file").setInputFiles(tracePath);
      await offline.waitForSelector("body.trace-mode");
      expect(await offline.locator("#trace-title").innerText()).toMatch(/a server, \d+ steps, failed/);
      expect(await offline.locator("#trace-steps tr").count()).toBe(lines.length);

      // Step through: at every step the chart's current state is the state recorded there.
      for (let step = 0; step < lines.length; step++) {
        if (step > 0) await offline.locator("#step-next").click();
        const state = lines[step]!.state;
        expect(await offline.locator("#step-label").innerText()).toBe(`step ${step} of ${lines.length - 1}: ${state}`);
        const current = await offline.locator("svg.chart g.state.current").evaluateAll((nodes) => nodes.map((node) => (node as SVGElement).dataset.state));
        expect(current).toContain(state);
        if (lines[step]!.type === "event" && state === "OPEN.failed" && lines[step - 1]!.state !== "OPEN.failed") await screenshot(offline, "trace");
      }
      expect(await offline.locator("svg.chart g.step-mark").count()).toBe(5);
      // The received chunk holding the refused frame, previewed.
      expect(await offline.locator("#trace-steps td.hex").allInnerTexts()).toContain("81 05 68 65 6c 6c 6f");
      // Keyboard and slider move the step too.
      await offline.keyboard.press("ArrowLeft");
      expect(await offline.locator("#step-label").innerText()).toMatch(new RegExp(`^step ${lines.length - 2} of`));
      await offline.locator("#step-slider").fill("0");
      expect(await offline.locator("#step-label").innerText()).toBe(`step 0 of ${lines.length - 1}: CONNECTING.awaitingRequest`);
      // Drag and drop: a file dropped on the page opens the same way; a file that is not a trace says so.
      const drop = (name: string, content: string): Promise<void> =>
        offline.evaluate(
          ([fileName, fileText]) => {
            const transfer = new DataTransfer();
            transfer.items.add(new File([fileText!], fileName!));
            document.dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }));
          },
          [name, content],
        );
      await drop("dropped.jsonl", text);
      await expect.poll(() => offline.locator("#trace-title").innerText()).toMatch(/^dropped\.jsonl: a server/);
      await drop("notes.txt", "hello\n");
      await expect.poll(() => offline.locator("#trace-error").innerText()).toMatch(/^notes\.txt: line 1 is not JSON/);
      expect(requests.filter((url) => !url.startsWith("file:"))).toEqual([]);
      expect(pageErrors).toEqual([]);
      await offline.close();
    }, 60_000);
  });
}
