/**
 * A model run keeps its images in memory and its scratch directory as a name: a passing run leaves
 * nothing on disk, and a failed run's kept directory holds the images as QEMU would have left them,
 * with the QMP log.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { readdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createEngine } from "../../src/engines/factory/create.js";
import { writeImage } from "../../src/engines/model/images/write-image.js";
import { runScenarios, type RunOptions } from "../../src/runner/run-all.js";
import { modelRunOptions } from "./support/run-options.js";

let dir: string;
let scratchParent: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "bc-inmem-"));
  scratchParent = path.join(dir, "scratch");
  await mkdir(scratchParent);
  await mkdir(path.join(dir, "tests/scenarios"), { recursive: true });
  await writeFile(
    path.join(dir, "tests/scenarios/pass.scn"),
    'scenario "pass"\nrequire io\nimage d.qcow2 qcow2 1M\nadd q: qcow2 file=(f: file filename=d.qcow2)\nio q "write -P 0x5a 0 64k"\nshow node f image.actual-size\n',
  );
  await writeFile(
    path.join(dir, "tests/scenarios/fail.scn"),
    'scenario "fail"\nrequire io\nimage sub/d.qcow2 qcow2 1M\nadd q: qcow2 file=(f: file filename=sub/d.qcow2)\nio q "write -P 0x5a 0 64k"\nadd n: null-co -> error "never"\n',
  );
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const options = (over: Partial<RunOptions> = {}) => modelRunOptions(dir, { jobs: 1, update: true, scratchParent, ...over });

describe("a model run in memory", () => {
  it("creates no scratch directory for a passing run, and keeps a failed run's images on disk", async () => {
    // What is under the scratch parent as each run ends (a removal would still be under way then).
    const seen = new Map<string, string[]>();
    const summary = await runScenarios(
      options({ reporters: [{ onScenarioEnd: (r) => seen.set(r.name, readdirSync(scratchParent)) }] }),
    );
    const byName = Object.fromEntries(summary.results.map((r) => [r.name, r]));
    expect(byName.pass!.status).toBe("pass");
    expect(byName.fail!.status).toBe("fail");
    const kept = byName.fail!.scratchDir!;
    // The passing run made no directory; the failed run's is there, kept.
    expect(seen.get("fail")).toEqual([path.basename(kept)]);
    expect(seen.get("pass")).toEqual([path.basename(kept)]);
    expect(await readdir(scratchParent)).toEqual([path.basename(kept)]);
    expect((await readdir(kept)).sort()).toEqual([".qmp.log", "sub"]);
    // The image on disk is the model's, byte for byte what the same writes give on disk.
    const image = await readFile(path.join(kept, "sub/d.qcow2"));
    expect(image.subarray(0, 4).toString("latin1")).toBe("QFI\xfb");
    expect(image.length).toBeGreaterThan(64 * 1024);
    expect((await stat(path.join(kept, "sub/d.qcow2"))).size).toBe(image.length);
  });

  it("reports the allocation the same writes give on disk", async () => {
    // The golden records actual-size as the model computes it in memory...
    await runScenarios(options());
    const golden = await readFile(path.join(dir, "golden/pass.out"), "utf8");
    const shown = Number(/image\.actual-size=(\d+)/.exec(golden)![1]);
    // ...which is what the file system allocates to the image and the same guest write on disk.
    const onDisk = path.join(dir, "disk");
    await mkdir(onDisk);
    writeImage(path.join(onDisk, "d.qcow2"), { path: "d.qcow2", format: "qcow2", size: 1 << 20 });
    const engine = createEngine("model");
    await engine.start({ workdir: onDisk });
    engine.writeFilesOut?.();
    expect(await engine.qmp("blockdev-add", { driver: "qcow2", "node-name": "q", file: { driver: "file", "node-name": "f", filename: "d.qcow2" } })).toEqual({ return: {} });
    expect(await engine.io("q", "write -P 0x5a 0 64k")).toMatch(/^wrote/);
    await engine.stop();
    expect((await stat(path.join(onDisk, "d.qcow2"))).blocks * 512).toBe(shown);
  });
});
