/**
 * `blockcheck --help` and `--version` start fast because main.ts imports the command modules only
 * when one runs: what main.ts loads before then (its static imports, followed through every file)
 * is the CLI's own small files, no engine, no runner and no npm package.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

/** Specifiers a file loads when it is imported: static imports and re-exports that are not type-only. */
function staticImports(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.ES2022);
  const out: string[] = [];
  for (const s of source.statements) {
    if (ts.isImportDeclaration(s) && !s.importClause?.isTypeOnly && ts.isStringLiteral(s.moduleSpecifier)) out.push(s.moduleSpecifier.text);
    if (ts.isExportDeclaration(s) && !s.isTypeOnly && s.moduleSpecifier && ts.isStringLiteral(s.moduleSpecifier)) out.push(s.moduleSpecifier.text);
  }
  return out;
}

/** Every file and package `entry` loads eagerly: `./x.js` read as `./x.ts` where that exists, packages by name. */
function eagerClosure(entry: string): { files: string[]; packages: string[] } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const todo = [entry];
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    for (const spec of staticImports(file)) {
      if (spec.startsWith("node:")) continue;
      if (!spec.startsWith(".")) {
        packages.add(spec);
        continue;
      }
      const js = path.resolve(path.dirname(file), spec);
      const target = [js.replace(/\.js$/, ".ts"), js].find((f) => existsSync(f));
      if (!target) throw new Error(`${file} imports ${spec}, which is not there`);
      todo.push(target);
    }
  }
  return { files: [...files].map((f) => path.relative("src", f)).sort(), packages: [...packages].sort() };
}

describe("CLI start-up", () => {
  it("loads no command, engine or npm package before a command runs", () => {
    const { files, packages } = eagerClosure(path.resolve("src/cli/main.ts"));
    expect(packages).toEqual([]);
    expect(files.filter((f) => !/^(cli\/[\w-]+\.ts|cli\/commands\/index\.ts|text\/[\w-]+\.ts|errors\.ts)$/.test(f))).toEqual([]);
  });

  it("the closure follows imports (so the test above can fail)", () => {
    const { files, packages } = eagerClosure(path.resolve("src/cli/commands/graph.ts"));
    expect(files.some((f) => f.startsWith("engines/"))).toBe(true);
    expect(packages.length).toBeGreaterThan(0);
  });
});
