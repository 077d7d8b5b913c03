/**
 * What the packed files cite. A shipped file may name another file only if the package ships
 * it: a Markdown document by its path, a module by its source name (`./mask.ts` is shipped as
 * `mask.js` and `mask.d.ts`). Files outside the repository (`../shared/…`, the team's
 * behaviour table) must never be cited.
 */
import { readFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";

/** Paths such as `./mask.ts`, `machines/connection-runner.ts`, `SECURITY.md`, `../shared/API.md`. */
const CITED_PATH = /(?:\.{1,2}\/)*[A-Za-z0-9_-]+(?:\/[A-Za-z0-9_.-]+)*\.(?:md|ts)\b/g;

/** Every citation in the shipped dist files that names nothing in the package, as "file: path". */
export function danglingCitations(unpacked: string, files: readonly string[]): string[] {
  const shipped = new Set(files);
  const dangling: string[] = [];
  for (const file of files) {
    if (!file.startsWith("dist/") || !(file.endsWith(".js") || file.endsWith(".d.ts"))) continue;
    const text = readFileSync(join(unpacked, file), "utf8");
    if (text.includes("BEHAVIOR")) dangling.push(`${file}: BEHAVIOR (a table outside the repository)`);
    for (const match of text.matchAll(CITED_PATH)) {
      const cited = match[0];
      if (cited.endsWith(".d.ts") || cited.endsWith(".js")) continue;
      if (!resolves(cited, file, shipped)) dangling.push(`${file}: ${cited}`);
    }
  }
  return dangling;
}

function resolves(cited: string, citingFile: string, shipped: ReadonlySet<string>): boolean {
  // A relative path is relative to the citing module; any other path to the package root, or
  // (for modules) to dist/, where the sources' tree is rebuilt.
  const bases = cited.startsWith(".") ? [dirname(citingFile)] : [".", "dist", dirname(citingFile)];
  for (const base of bases) {
    const path = normalize(join(base, cited));
    if (path.endsWith(".md") ? shipped.has(path) : shipped.has(path.replace(/\.ts$/, ".d.ts"))) return true;
  }
  return false;
}

/** The relative link targets of a Markdown document (no URLs, no in-page anchors). */
export function readmeLinks(markdown: string): string[] {
  const links: string[] = [];
  for (const match of markdown.matchAll(/\]\(([^)\s]+)\)/g)) {
    const target = match[1]!.split("#")[0]!;
    if (target === "" || /^[a-z]+:/i.test(target)) continue;
    links.push(normalize(target));
  }
  return links;
}
