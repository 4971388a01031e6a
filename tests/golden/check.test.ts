import { mkdtemp, readFile, rm, stat, writeFile, mkdir } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { checkGolden, type GoldenCheckOptions } from "../../src/golden/check.js";
import { promotePending } from "../../src/golden/accept.js";
import { findOrphanGoldens } from "../../src/golden/orphans.js";
import { GoldenListing } from "../../src/golden/listing.js";
import { findPending } from "../../src/golden/pending.js";
import { writeAtomic } from "../../src/golden/store.js";

let root: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "bc-golden-"));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

function opts(over: Partial<GoldenCheckOptions> = {}): GoldenCheckOptions {
  return {
    goldenRoot: path.join(root, "golden"),
    golden: { name: "reopen/detach", bindings: [] },
    engine: "model",
    actual: "a\nb\n",
    update: false,
    ci: false,
    color: false,
    cwd: root,
    scenarioArg: "tests/scenarios/reopen/detach.scn",
    ...over,
  };
}
const golden = () => path.join(root, "golden/reopen/detach.out");
const exists = (f: string) => stat(f).then(() => true, () => false);

describe("checkGolden", () => {
  it("passes on a match and removes a stale .out.bad", async () => {
    await writeAtomic(golden(), "a\nb\n");
    await writeFile(golden() + ".bad", "old");
    expect(await checkGolden(opts())).toEqual({ status: "match", file: "golden/reopen/detach.out" });
    expect(await exists(golden() + ".bad")).toBe(false);
  });

  it("on a mismatch gives a diff and writes .out.bad beside the golden, golden untouched", async () => {
    await writeAtomic(golden(), "a\nB\n");
    const r = await checkGolden(opts());
    expect(r.status).toBe("mismatch");
    if (r.status !== "mismatch") return;
    expect(r.diff).toContain("-B\n+b");
    expect(r.badFile).toBe("golden/reopen/detach.out.bad");
    expect(await readFile(golden() + ".bad", "utf8")).toBe("a\nb\n");
    expect(await readFile(golden(), "utf8")).toBe("a\nB\n");
  });

  it("with CI set never writes: no .out.bad, no update, a missing golden fails naming the command", async () => {
    await writeAtomic(golden(), "a\nB\n");
    const r = await checkGolden(opts({ ci: true, update: true }));
    expect(r.status).toBe("mismatch");
    expect(await exists(golden() + ".bad")).toBe(false);
    expect(await readFile(golden(), "utf8")).toBe("a\nB\n");

    const missing = await checkGolden(opts({ ci: true, update: true, golden: { name: "new/one", bindings: [["fmt", "raw"]] } }));
    expect(missing).toEqual({
      status: "missing",
      file: "golden/new/one.fmt=raw.out",
      message:
        "golden file golden/new/one.fmt=raw.out is missing; create it with: npx blockcheck run --update tests/scenarios/reopen/detach.scn",
    });
    expect(await exists(path.join(root, "golden/new"))).toBe(false);
  });

  it("a missing golden fails without --update and is created with it", async () => {
    expect((await checkGolden(opts())).status).toBe("missing");
    expect(await exists(golden())).toBe(false);
    expect((await checkGolden(opts({ update: true }))).status).toBe("created");
    expect(await readFile(golden(), "utf8")).toBe("a\nb\n");
  });

  it("--update rewrites a differing golden and removes its .out.bad, but leaves a matching one alone", async () => {
    await writeAtomic(golden(), "a\nB\n");
    await checkGolden(opts());
    expect((await checkGolden(opts({ update: true }))).status).toBe("updated");
    expect(await readFile(golden(), "utf8")).toBe("a\nb\n");
    expect(await exists(golden() + ".bad")).toBe(false);
    const before = (await stat(golden())).mtimeMs;
    await new Promise((r) => setTimeout(r, 15));
    expect((await checkGolden(opts({ update: true }))).status).toBe("match");
    expect((await stat(golden())).mtimeMs).toBe(before);
  });

  it("prefers an engine-specific golden, which must carry a reason", async () => {
    await writeAtomic(golden(), "other\n");
    const specific = path.join(root, "golden/reopen/detach.model.out");
    await writeAtomic(specific, "a\nb\n");
    expect((await checkGolden(opts())).status).toBe("invalid");
    await writeAtomic(specific, "# reason: the model has no qemu-io\na\nb\n");
    expect(await checkGolden(opts())).toEqual({
      status: "match",
      file: "golden/reopen/detach.model.out",
      engineReason: "the model has no qemu-io",
    });
    // and QEMU still reads the common one
    expect((await checkGolden(opts({ engine: "qemu" }))).status).toBe("mismatch");
    await checkGolden(opts({ actual: "new\n", update: true }));
    expect(await readFile(specific, "utf8")).toBe("# reason: the model has no qemu-io\nnew\n");
  });
});

describe("GoldenListing", () => {
  it("answers absence from one listing per directory, and leaves everything else to the read", async () => {
    await writeAtomic(golden(), "a\nb\n");
    const specific = path.join(root, "golden/reopen/detach.model.out");
    await writeAtomic(specific, "# reason: the model has no qemu-io\na\nb\n");
    const listing = new GoldenListing();
    expect(listing.mayHold(specific)).toBe(true);
    expect(listing.mayHold(path.join(root, "golden/reopen/detach.qemu.out"))).toBe(false);
    expect(listing.mayHold(path.join(root, "golden/none/x.model.out"))).toBe(false);
    // Not a directory: nothing is known, so the read decides.
    expect(listing.mayHold(path.join(golden(), "x.model.out"))).toBe(true);
    expect(await checkGolden(opts({ listing }))).toMatchObject({ status: "match", file: "golden/reopen/detach.model.out" });
    expect(await checkGolden(opts({ listing, engine: "qemu" }))).toEqual({ status: "match", file: "golden/reopen/detach.out" });
  });

  it("is listed when first asked: a golden written before then is seen", async () => {
    const listing = new GoldenListing();
    await writeAtomic(golden(), "a\nb\n");
    await writeAtomic(path.join(root, "golden/reopen/detach.model.out"), "# reason: r\nother\n");
    expect((await checkGolden(opts({ listing }))).status).toBe("mismatch");
  });
});

describe("accept and orphans", () => {
  it("promotes a pending file with its record", async () => {
    await writeAtomic(golden(), "old\n");
    await checkGolden(opts({ actual: "new\n" }));
    const [bad, ...others] = await findPending(path.join(root, "golden"));
    expect(others).toEqual([]);
    expect(bad).toMatchObject({ kind: "mismatch", file: golden() + ".bad", golden: golden(), record: { engine: "model" } });
    await promotePending(bad!);
    expect(await readFile(golden(), "utf8")).toBe("new\n");
    expect(await exists(golden() + ".bad")).toBe(false);
    expect(await exists(golden() + ".bad.json")).toBe(false);
  });

  it("finds goldens no scenario reads, engine-specific ones of known scenarios excepted", async () => {
    const g = path.join(root, "golden");
    for (const f of ["a.out", "a.model.out", "b.fmt=raw.out", "b.out", "gone/c.out"]) {
      await mkdir(path.dirname(path.join(g, f)), { recursive: true });
      await writeFile(path.join(g, f), "");
    }
    const orphans = await findOrphanGoldens(g, [
      { name: "a", bindings: [] },
      { name: "b", bindings: [["fmt", "raw"]] },
    ]);
    expect(orphans.map((o) => path.relative(g, o))).toEqual(["b.out", "gone/c.out"]);
  });

  it("finds the pictures of scenarios that are gone, and keeps those of known scenarios", async () => {
    const g = path.join(root, "golden");
    const files = ["a.out", "a.1.svg", "a.freed.svg", "b.fmt=raw.out", "b.fmt=raw.2.svg", "b.fmt=qcow2.1.svg", "gone/c.1.svg", "gone/c.after.svg"];
    for (const f of files) {
      await mkdir(path.dirname(path.join(g, f)), { recursive: true });
      await writeFile(path.join(g, f), "");
    }
    const orphans = await findOrphanGoldens(g, [
      { name: "a", bindings: [] },
      { name: "b", bindings: [["fmt", "raw"]] },
    ]);
    expect(orphans.map((o) => path.relative(g, o))).toEqual(["b.fmt=qcow2.1.svg", "gone/c.1.svg", "gone/c.after.svg"]);
  });
});
