/**
 * Where the Deno and Bun binaries of the `deno` and `bun` devDependencies are. Each package
 * carries its binary in a platform package (`@deno/linux-x64-glibc`, `@oven/bun-linux-x64`, …,
 * an optional dependency) and its postinstall script links it into place for
 * `node_modules/.bin`. npm 11 runs those scripts for the packages listed in package.json's
 * `allowScripts`; should a stricter npm skip them, the binary is taken straight from the
 * platform package. Nothing is downloaded.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

export interface RuntimeBinary {
  readonly path: string;
  /** As the binary reports it, e.g. "2.9.6". */
  readonly version: string;
}

/** Where a platform package keeps the binary: `deno` at its root, `bun` under bin/. */
const BINARY_IN_PLATFORM_PACKAGE: Record<"deno" | "bun", string> = { deno: "deno", bun: join("bin", "bun") };

export function runtimeBinary(root: string, name: "deno" | "bun"): RuntimeBinary {
  const modules = join(root, "node_modules");
  const manifest = JSON.parse(readFileSync(join(modules, name, "package.json"), "utf8")) as { optionalDependencies?: Record<string, string> };
  const candidates = [
    join(modules, ".bin", name),
    ...Object.keys(manifest.optionalDependencies ?? {}).map((platform) => join(modules, platform, BINARY_IN_PLATFORM_PACKAGE[name])),
  ];
  const tried: string[] = [];
  for (const candidate of candidates) {
    if (!existsSync(candidate)) continue;
    const result = spawnSync(candidate, ["--version"], { encoding: "utf8" });
    const version = /(\d+\.\d+\.\d+)/.exec(result.stdout ?? "")?.[1];
    if (result.status === 0 && version !== undefined) return { path: candidate, version };
    tried.push(`${candidate}: ${result.error?.message ?? result.stderr.trim()}`);
  }
  throw new Error(
    `no runnable ${name} binary (tried: ${tried.join("; ") || "none present"}). It comes from the ${name} devDependency: ` +
      `run \`npm ci\`; if npm skipped its install script, check that package.json's allowScripts lists ${name}`,
  );
}
