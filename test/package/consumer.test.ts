/**
 * The package as a user gets it: `npm pack`, then install the tarball into a new project in the
 * system's temporary directory, where nothing of this repository's sources can be seen. There
 * the samples of test/package/fixtures are type-checked by `tsc --strict` under node16 and
 * bundler resolution, run under Node, and the core's round trip is run under Deno and Bun,
 * whose binaries come from the `deno` and `bun` devDependencies (see runtimes.ts).
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { danglingCitations, readmeLinks } from "./citations.js";
import { runtimeBinary } from "./runtimes.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const fixtures = fileURLToPath(new URL("./fixtures", import.meta.url));
const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
const rootPackage = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

/** What the client of fixtures/roundtrip.ts receives: the server's echo of what it sent. */
const ROUND_TRIP = ["accepted chat", "text echo: héllo", "bytes 3,2,1", "pong are you there", "close 1000 done"];


let work = "";
let app = "";
let unpacked = "";
let files: string[] = [];
let tarballBytes = 0;

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): string {
  try {
    return execFileSync(command, args, { cwd, env: { ...process.env, ...env }, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${command} ${args.join(" ")} failed in ${cwd}:\n${failed.stdout ?? ""}\n${failed.stderr ?? failed.message}`);
  }
}

/**
 * The README's TypeScript example under `heading`, as a module for the consumer project. Its
 * `socket` (the app's own transport) is declared, as the example assumes one.
 */
function readmeExample(readme: string, heading: string): string {
  const start = readme.indexOf(`\n${heading}\n`);
  const block = start < 0 ? null : /```ts\n([\s\S]*?)```/.exec(readme.slice(start));
  if (block === null) throw new Error(`the README has no TypeScript example under "${heading}"`);
  const code = block[1]!;
  return code.includes("net.connect") || code.includes("net.createServer")
    ? code
    : `declare const socket: { write(data: Uint8Array): void };\n${code}`;
}

function tsconfig(compilerOptions: Record<string, unknown>): string {
  const strict = { strict: true, target: "ES2022", lib: ["ES2022"], types: ["node"], skipLibCheck: false, ...compilerOptions };
  return JSON.stringify({ compilerOptions: strict, include: ["*.ts"] }, null, 2);
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "wsmachine-consumer-"));
  // `npm pack` runs the `prepare` script, which builds dist/ as a git install would.
  run("npm", ["pack", "--silent", "--pack-destination", work], root);
  const tarball = readdirSync(work).find((name) => name.endsWith(".tgz"));
  if (tarball === undefined) throw new Error(`npm pack left no tarball in ${work}`);
  tarballBytes = readFileSync(join(work, tarball)).length;
  files = run("tar", ["-tzf", join(work, tarball)], work).trim().split("\n").map((name) => name.replace(/^package\//, ""));
  unpacked = join(work, "unpacked");
  mkdirSync(unpacked);
  run("tar", ["-xzf", join(work, tarball), "-C", unpacked, "--strip-components=1"], work);

  app = join(work, "app");
  mkdirSync(app);
  const dependencies = {
    wsmachine: `file:../${tarball}`,
    xstate: rootPackage.dependencies.xstate,
    "@types/node": rootPackage.devDependencies["@types/node"],
  };
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module", dependencies }, null, 2));
  run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"], app);
  for (const name of readdirSync(fixtures)) copyFileSync(join(fixtures, name), join(app, name));
  // The README's own examples are type-checked (not run: they listen on and dial fixed ports).
  const readme = readFileSync(join(unpacked, "README.md"), "utf8");
  writeFileSync(join(app, "readme-client.ts"), readmeExample(readme, "## A client"));
  writeFileSync(join(app, "readme-server.ts"), readmeExample(readme, "## A server"));
  writeFileSync(join(app, "readme-embedding.ts"), readmeExample(readme, "### Embedding in an XState app"));
  writeFileSync(join(app, "tsconfig.node16.json"), tsconfig({ module: "node16", moduleResolution: "node16", outDir: "out" }));
  writeFileSync(join(app, "tsconfig.bundler.json"), tsconfig({ module: "ESNext", moduleResolution: "bundler", lib: ["ES2022", "DOM"], noEmit: true }));
}, 240_000);

afterAll(() => {
  if (work !== "") rmSync(work, { recursive: true, force: true });
});

describe("the packed package", () => {
  it("ships the built code, its types, README, LICENSE and package.json, and no source maps or sources", () => {
    for (const name of ["package.json", "README.md", "LICENSE", "dist/src/index.js", "dist/src/index.d.ts", "dist/src/node/index.js", "dist/src/node/index.d.ts", "dist/src/deno/index.js", "dist/src/deno/index.d.ts", "dist/src/bun/index.js", "dist/src/bun/index.d.ts"]) {
      expect(files).toContain(name);
    }
    expect(files.filter((name) => name.endsWith(".map"))).toEqual([]);
    expect(files.filter((name) => name.endsWith(".ts") && !name.endsWith(".d.ts"))).toEqual([]);
    expect(files.filter((name) => name.startsWith("test/") || name.startsWith("bench/") || name.startsWith("tools/"))).toEqual([]);
    // Reported in the closing summary of a run; a bound, so that a stray directory is noticed.
    expect(tarballBytes).toBeLessThan(400_000);
  });

  it("cites no file it does not ship, and its README's links resolve inside it", () => {
    expect(danglingCitations(unpacked, files)).toEqual([]);
    const links = readmeLinks(readFileSync(join(unpacked, "README.md"), "utf8"));
    expect(links.length).toBeGreaterThan(0);
    expect(links.filter((link) => !files.includes(link))).toEqual([]);
  });
});

describe("a consumer project with the tarball installed", () => {
  it("type-checks the samples and the README's examples under tsc --strict, node16 (emitting) and bundler resolution", () => {
    run(process.execPath, [tsc, "-p", "tsconfig.node16.json"], app);
    run(process.execPath, [tsc, "-p", "tsconfig.bundler.json"], app);
  }, 120_000);

  it("runs the core round trip and wsmachine/node over loopback under Node", () => {
    const roundTrip = JSON.parse(run(process.execPath, ["out/roundtrip.js"], app)) as { runtime: string; seen: string[] };
    expect(roundTrip.runtime).toBe(`node ${process.versions.node}`);
    expect(roundTrip.seen).toEqual(ROUND_TRIP);
    expect(JSON.parse(run(process.execPath, ["out/node-echo.js"], app))).toEqual({ echoed: "over loopback", code: 1000 });
  }, 60_000);

  it("runs the core round trip under Deno", () => {
    const deno = runtimeBinary(root, "deno");
    const env = { DENO_DIR: join(work, "deno-cache"), DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" };
    const output = JSON.parse(run(deno.path, ["run", "--quiet", "out/roundtrip.js"], app, env)) as { runtime: string; seen: string[] };
    expect(output.runtime).toBe(`deno ${deno.version}`);
    expect(output.seen).toEqual(ROUND_TRIP);
  }, 60_000);

  it("runs the core round trip under Bun", () => {
    const bun = runtimeBinary(root, "bun");
    const output = JSON.parse(run(bun.path, ["out/roundtrip.js"], app, { DO_NOT_TRACK: "1", NO_COLOR: "1" })) as { runtime: string; seen: string[] };
    expect(output.runtime).toBe(`bun ${bun.version}`);
    expect(output.seen).toEqual(ROUND_TRIP);
  }, 60_000);
});
