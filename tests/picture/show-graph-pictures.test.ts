/**
 * `show graph` pictures through the CLI, as a user runs them: `run --pictures` writes one SVG per
 * `show graph` beside the golden, the transcript is the same with and without it, CI writes none,
 * stale pictures go, a failed run keeps its pictures in its scratch directory, and the model and
 * QEMU draw the same bytes.
 */
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { blockcheck } from "../support/cli.js";
import { describeWithQemu } from "../support/qemu.js";
import { svgTexts } from "./svg-check.js";

const SCENARIO = `scenario "pictures"
image base.qcow2 qcow2 1M
image top.qcow2 qcow2 1M backing=base.qcow2
add top: qcow2 file=(file filename=top.qcow2)
show graph
reopen top backing=null
show graph freed
export top writable
show graph
`;

/** The example of docs/language.md's "Pictures" section, whose comments name the files it writes. */
async function docsExample(): Promise<string> {
  const doc = await readFile("docs/language.md", "utf8");
  const section = doc.slice(doc.indexOf("### Pictures: `show graph NAME`"));
  const m = /```scn\n([\s\S]*?)```/.exec(section);
  if (!m) throw new Error("docs/language.md has no scn example under 'Pictures'");
  return m[1]!;
}

const made: string[] = [];
afterAll(async () => {
  for (const d of made) await rm(d, { recursive: true, force: true });
});

/** A project holding `files` (paths relative to its scenario root). */
async function project(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "bc-pictures-"));
  made.push(dir);
  await writeFile(path.join(dir, "package.json"), '{"name":"pictures"}\n');
  for (const [rel, text] of Object.entries(files)) {
    const file = path.join(dir, "tests/scenarios", rel);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, text);
  }
  return dir;
}

async function goldenFiles(dir: string): Promise<string[]> {
  const root = path.join(dir, "golden/demo");
  return (await readdir(root).catch(() => [] as string[])).filter((n) => !n.startsWith(".")).sort();
}

describe("run --pictures", () => {
  it("writes an SVG per 'show graph' beside the golden: numbered by place, or by name", async () => {
    const dir = await project({ "demo/pic.scn": SCENARIO });
    const r = await blockcheck(["run", "--pictures", "--update"], { cwd: dir });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      ["Pictures (--pictures): 3 written", "  golden/demo/pic.1.svg", "  golden/demo/pic.3.svg", "  golden/demo/pic.freed.svg"].join("\n"),
    );
    expect(await goldenFiles(dir)).toEqual(["pic.1.svg", "pic.3.svg", "pic.freed.svg", "pic.out"]);

    // Nodes with driver and ro/rw, edges with role and perm/shared, as the step saw the graph.
    const first = svgTexts(await readFile(path.join(dir, "golden/demo/pic.1.svg"), "utf8"));
    expect(first).toEqual(
      expect.arrayContaining(["top", "qcow2, rw", "top/backing", "qcow2, ro", "top/backing/file", "file, ro", "top/file", "file, rw"]),
    );
    expect(first).toEqual(expect.arrayContaining(["backing", "perm=[]", "shared=[consistent-read, write, write-unchanged, resize]"]));
    expect(first).toEqual(expect.arrayContaining(["file", "perm=[consistent-read, write, resize]", "shared=[consistent-read, write-unchanged]"]));
    const freed = svgTexts(await readFile(path.join(dir, "golden/demo/pic.freed.svg"), "utf8"));
    expect(freed).not.toContain("top/backing");
    expect(freed).toEqual(expect.arrayContaining(["top", "top/file"]));
    const exported = svgTexts(await readFile(path.join(dir, "golden/demo/pic.3.svg"), "utf8"));
    expect(exported).toEqual(expect.arrayContaining(["export top", "root", "perm=[consistent-read, write]"]));

    // The transcript says nothing of pictures: a run without --pictures matches the same golden.
    const golden = await readFile(path.join(dir, "golden/demo/pic.out"), "utf8");
    expect(golden).toContain("show graph freed\n  top -file-> top/file");
    expect(golden).not.toContain(".svg");
    const plain = await blockcheck(["run"], { cwd: dir });
    expect(plain.code).toBe(0);
    expect(plain.stdout).not.toContain("Pictures");
  });

  it("writes the files docs/language.md's example says it writes", async () => {
    const example = await docsExample();
    const promised = [...example.matchAll(/# (golden\/\S+\.svg)/g)].map((m) => m[1]!).sort();
    expect(promised.length).toBeGreaterThan(1);
    const dir = await project({ "reopen/pictures.scn": example });
    const r = await blockcheck(["run", "--pictures", "-u"], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Pictures (--pictures): ${promised.length} written\n${promised.map((f) => `  ${f}`).join("\n")}`);
    for (const f of promised) expect(svgTexts(await readFile(path.join(dir, f), "utf8"))).toContain("top");
  });

  it("draws the same bytes run after run, and removes pictures the scenario no longer draws", async () => {
    const dir = await project({ "demo/pic.scn": SCENARIO });
    expect((await blockcheck(["run", "--pictures", "-u"], { cwd: dir })).code).toBe(0);
    const before = await readFile(path.join(dir, "golden/demo/pic.1.svg"), "utf8");
    await writeFile(path.join(dir, "tests/scenarios/demo/pic.scn"), SCENARIO.replace("show graph freed\n", ""));
    // An unrelated SVG beside the goldens is not the scenario's: it stays.
    await writeFile(path.join(dir, "golden/demo/notes.svg"), "<svg/>");
    const r = await blockcheck(["run", "--pictures", "-u"], { cwd: dir });
    expect(r.code).toBe(0);
    expect(await goldenFiles(dir)).toEqual(["notes.svg", "pic.1.svg", "pic.2.svg", "pic.out"]);
    expect(await readFile(path.join(dir, "golden/demo/pic.1.svg"), "utf8")).toBe(before);
  });

  it("names each parameter value's pictures after its golden", async () => {
    const dir = await project({
      "demo/each.scn": 'scenario "each"\neach fmt in qcow2 raw\nimage a.img $fmt 1M\nadd a: $fmt file=(file filename=a.img)\nshow graph\n',
    });
    expect((await blockcheck(["run", "--pictures", "-u"], { cwd: dir })).code).toBe(0);
    expect(await goldenFiles(dir)).toEqual(["each.fmt=qcow2.1.svg", "each.fmt=qcow2.out", "each.fmt=raw.1.svg", "each.fmt=raw.out"]);
    expect(svgTexts(await readFile(path.join(dir, "golden/demo/each.fmt=raw.1.svg"), "utf8"))).toContain("raw, rw");
  });

  it("writes nothing in CI mode, and says so", async () => {
    const dir = await project({ "demo/pic.scn": SCENARIO });
    expect((await blockcheck(["run", "-u"], { cwd: dir })).code).toBe(0);
    const r = await blockcheck(["run", "--pictures", "--ci"], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("--pictures draws nothing");
    expect(await goldenFiles(dir)).toEqual(["pic.out"]);
  });

  it("a failed run keeps its pictures in its scratch directory and says where", async () => {
    const dir = await project({ "demo/fail.scn": 'scenario "fails"\nadd n0: null-co\nshow graph\nexpect ro n0\n' });
    const r = await blockcheck(["run", "--pictures"], { cwd: dir });
    expect(r.code).toBe(1);
    const where = /pictures of its graphs: (\S+)/.exec(r.stdout)?.[1];
    expect(where).toBeDefined();
    made.push(path.dirname(where!));
    expect(svgTexts(await readFile(path.join(where!, "1.svg"), "utf8"))).toEqual(expect.arrayContaining(["n0", "null-co, rw"]));
    expect((await goldenFiles(dir)).filter((n) => n.endsWith(".svg"))).toEqual([]);
  });
});

describeWithQemu("run --pictures on QEMU", () => {
  it("QEMU and the model draw the same SVG bytes", async () => {
    const model = await project({ "demo/pic.scn": SCENARIO });
    const qemu = await mkdtemp(path.join(os.tmpdir(), "bc-pictures-qemu-"));
    made.push(qemu);
    await cp(model, qemu, { recursive: true });
    expect((await blockcheck(["run", "--pictures", "-u"], { cwd: model })).code).toBe(0);
    const r = await blockcheck(["run", "--pictures", "-u", "--engine", "qemu"], { cwd: qemu, env: { PATH: process.env.PATH } });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    for (const key of ["1", "freed", "3"]) {
      const file = `golden/demo/pic.${key}.svg`;
      expect(await readFile(path.join(qemu, file), "utf8")).toBe(await readFile(path.join(model, file), "utf8"));
    }
    // With both engines QEMU's pictures are written and the model's are held to them.
    const both = await blockcheck(["run", "--pictures", "--engine", "both"], { cwd: qemu, env: { PATH: process.env.PATH } });
    expect(both.stdout).toContain("2 passed, 0 failed");
    expect(both.code).toBe(0);
  }, 60_000);
});
