/**
 * The layers of src/: no import cycle between its folders, and the QMP client, the monitor emulation,
 * the QAPI tables and the graph view stand on their own, below the engines. Imports are read with
 * TypeScript's own pre-processor (type-only imports count: they still tie one layer to another).
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const SRC = path.resolve("src");

/**
 * Files whose imports the cycle check leaves out, each with the reason. Only for a cycle someone
 * still has to break; a test below fails once an entry is no longer needed, so the list only shrinks.
 */
const CYCLE_EXEMPT: Record<string, string> = {};

/** The layer a file belongs to: its folder under src/, with each engine a layer of its own. */
function layerOf(file: string): string {
  const parts = path.relative(SRC, file).split(path.sep);
  if (parts.length === 1) return "src";
  if (parts[0] === "engines" && parts.length > 2) return `engines/${parts[1]}`;
  return parts[0]!;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return /\.(ts|js)$/.test(e.name) && !e.name.endsWith(".d.ts") ? [p] : [];
  });
}

/** A relative specifier as the file it names (`./x.js` is `./x.ts` in the sources). */
function resolveImport(from: string, spec: string): string {
  const target = path.resolve(path.dirname(from), spec);
  const asTs = target.replace(/\.js$/, ".ts");
  return existsSync(asTs) ? asTs : target;
}

/** file → the files under src/ it imports. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(SRC)) {
    const { importedFiles } = ts.preProcessFile(readFileSync(file, "utf8"), true, true);
    const targets = importedFiles.map((f) => f.fileName).filter((s) => s.startsWith("."));
    graph.set(file, targets.map((s) => resolveImport(file, s)).filter((t) => t.startsWith(SRC + path.sep)));
  }
  return graph;
}

/** layer → layer → one import that makes the edge, to quote in a failure; `skip` files left out. */
function layerEdges(files: Map<string, string[]>, skip: readonly string[] = []): Map<string, Map<string, string>> {
  const edges = new Map<string, Map<string, string>>();
  for (const [file, targets] of files) {
    if (skip.includes(path.relative(SRC, file))) continue;
    for (const target of targets) {
      const [a, b] = [layerOf(file), layerOf(target)];
      if (a === b) continue;
      if (!edges.has(a)) edges.set(a, new Map());
      if (!edges.get(a)!.has(b)) edges.get(a)!.set(b, `${path.relative(SRC, file)} → ${path.relative(SRC, target)}`);
    }
  }
  return edges;
}

/** Groups of layers that import each other, round a cycle (Tarjan's strongly connected components). */
function cycles(edges: Map<string, Map<string, string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const out: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    for (const w of edges.get(v)?.keys() ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (stack.includes(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const group: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        group.push(w);
      } while (w !== v);
      if (group.length > 1) out.push(group.sort());
    }
  };
  for (const v of edges.keys()) if (!index.has(v)) visit(v);
  return out;
}

/** Every file `start` reaches through imports, itself excluded. */
function reachable(files: Map<string, string[]>, start: string): Set<string> {
  const seen = new Set<string>();
  const todo = [...(files.get(start) ?? [])];
  while (todo.length > 0) {
    const f = todo.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    todo.push(...(files.get(f) ?? []));
  }
  return seen;
}

/** Files of `layer` that reach a file of `forbidden` (directly or not), with the file they reach. */
function reaching(files: Map<string, string[]>, layer: string, forbidden: (target: string) => boolean): string[] {
  const found: string[] = [];
  for (const file of files.keys()) {
    if (layerOf(file) !== layer) continue;
    const bad = [...reachable(files, file)].find((t) => forbidden(t));
    if (bad) found.push(`${path.relative(SRC, file)} reaches ${path.relative(SRC, bad)}`);
  }
  return found;
}

const files = importGraph();
const edges = layerEdges(files);
const exempt = Object.keys(CYCLE_EXEMPT);

describe("layers of src/", () => {
  it("are read from the sources (the import graph is not empty)", () => {
    expect(edges.get("monitor")?.has("qapi")).toBe(true);
    expect(edges.get("runner")?.has("transcript")).toBe(true);
    expect(files.get(path.join(SRC, "qmp/client.ts"))).toContain(path.join(SRC, "qmp/wire.ts"));
  });

  it("import one another without cycles", () => {
    const checked = layerEdges(files, exempt);
    const found = cycles(checked).map((group) => {
      const links = group.flatMap((a) => group.filter((b) => checked.get(a)?.has(b)).map((b) => `    ${a} → ${b}: ${checked.get(a)!.get(b)}`));
      return `  ${group.join(", ")}\n${links.join("\n")}`;
    });
    expect(found, `import cycles between folders of src/:\n${found.join("\n")}`).toEqual([]);
  });

  it("leave out of the cycle check only files that still close a cycle", () => {
    for (const file of exempt) {
      const without = cycles(layerEdges(files, exempt.filter((f) => f !== file)));
      const needed = without.some((group) => group.includes(layerOf(path.join(SRC, file))));
      expect(needed, `${file} no longer closes an import cycle: remove it from CYCLE_EXEMPT`).toBe(true);
    }
  });

  it("keep the QMP client, the monitor, the QAPI tables and the graph view out of the model", () => {
    const inModel = (f: string) => layerOf(f) === "engines/model";
    for (const layer of ["qmp", "monitor", "qapi", "graph-view"]) expect(reaching(files, layer, inModel), layer).toEqual([]);
  });

  it("keep the QMP client, the QAPI tables and the graph view free of any engine", () => {
    const inEngines = (f: string) => layerOf(f).startsWith("engines");
    for (const layer of ["qmp", "qapi", "graph-view"]) expect(reaching(files, layer, inEngines), layer).toEqual([]);
  });
});
