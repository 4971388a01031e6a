/** A throwaway blockcheck project (package.json, tests/scenarios, golden) for CLI tests. */
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

export interface Project {
  dir: string;
  /** Absolute path of a project file. */
  file(rel: string): string;
  write(rel: string, text: string): Promise<void>;
  read(rel: string): Promise<string>;
  exists(rel: string): Promise<boolean>;
  remove(): Promise<void>;
}

/** A project with these files (relative paths), e.g. `{ "tests/scenarios/a.scn": "…" }`. */
export async function project(files: Record<string, string>): Promise<Project> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "bc-proj-"));
  const p: Project = {
    dir,
    file: (rel) => path.join(dir, rel),
    write: async (rel, text) => {
      await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
      await writeFile(path.join(dir, rel), text);
    },
    read: (rel) => readFile(path.join(dir, rel), "utf8"),
    exists: (rel) => stat(path.join(dir, rel)).then(() => true, () => false),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
  await p.write("package.json", '{ "name": "scenarios", "private": true }\n');
  for (const [rel, text] of Object.entries(files)) await p.write(rel, text);
  return p;
}

/** A small scenario on null-co nodes whose transcript changes with `name`. */
export function nullScenario(title: string, name: string, tags = "quick"): string {
  return `scenario "${title}"\ntags ${tags}\n\nadd ${name}: null-co\nshow nodes\ndel ${name}\nshow nodes\n`;
}
