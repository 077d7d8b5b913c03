/**
 * The Node servers of the end-to-end benchmark run as plain JavaScript, as they would be deployed:
 * no TypeScript loader in the measured process. tsx's loader added about 2 MB of resident heap to
 * every server, and under E4's ArrayBuffer churn V8's full-GC rate depends on the resident old
 * generation (docs/performance.md, "E4"), so the loader was part of what was measured.
 *
 * Each server file is bundled with its relative imports (./lifecycle.ts) by esbuild into
 * bench/e2e/.compiled/ (inside the repository, so that `ws`, `bufferutil` and the package itself
 * resolve from node_modules and package.json). wsmachine is not bundled: the server's import of
 * src/node/index.js becomes `wsmachine/node`, the package's own export (dist/, built by
 * `npm run build`, which `npm run bench:e2e` runs first), so the server runs what users install.
 */
import { build, type Plugin } from "esbuild";
import { existsSync } from "node:fs";
import { join } from "node:path";

/** The Node servers (file names under bench/e2e/servers/, without `.ts`). */
export const NODE_SERVERS = ["wsmachine", "ws", "floor"] as const;

/** The directory the compiled servers are written to (git-ignored). */
export const COMPILED_DIRECTORY = join("bench", "e2e", ".compiled");

/** Imports of the package's Node entry by path become the package's own export, left external. */
const packageEntry: Plugin = {
  name: "wsmachine-package-entry",
  setup(compilation) {
    compilation.onResolve({ filter: /\/src\/node\/index\.js$/ }, () => ({ path: "wsmachine/node", external: true }));
  },
};

/**
 * Compiles the Node servers of the repository at `root`. Throws when the package has not been
 * built; a dist/ older than the sources is not detected (run through `npm run bench:e2e`, which
 * builds first).
 */
export async function compileServers(root: string): Promise<void> {
  const built = join(root, "dist", "src", "node", "index.js");
  if (!existsSync(built)) throw new Error(`${built} is missing: run \`npm run build\` first (npm run bench:e2e does)`);
  await build({
    absWorkingDir: root,
    entryPoints: NODE_SERVERS.map((name) => join("bench", "e2e", "servers", `${name}.ts`)),
    outdir: COMPILED_DIRECTORY,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    packages: "external",
    platform: "node",
    format: "esm",
    target: "node20",
    plugins: [packageEntry],
    logLevel: "warning",
  });
}
