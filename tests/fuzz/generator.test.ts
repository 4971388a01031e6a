/**
 * The fuzz generator: a seed names one sequence of scenarios, always the same; every scenario loads;
 * and a handful of cases already reach the shapes docs/fuzz.md promises (every driver, inline and
 * shared children, a qcow2 whose file is its backing, transactions, a del right after a reopen).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { driverNames } from "../../src/engines/model/drivers/index.js";
import { ModelIoUnsupportedError } from "../../src/engines/model/data/io-error.js";
import { ModelEngine } from "../../src/engines/model/model-engine.js";
import { loadScenario } from "../../src/language/index.js";
import { caseText } from "../../src/fuzz/check-case.js";
import { FuzzScratch } from "../../src/fuzz/fuzz-scratch.js";
import { generateIn } from "../../src/fuzz/generator.js";
import { Steering } from "../../src/fuzz/gen-steer.js";
import { Prng, sequenceSeed } from "../../src/fuzz/prng.js";
import { ioCommand } from "../../src/fuzz/gen-io.js";
import type { FuzzScenario, FuzzStatement, FuzzValue } from "../../src/fuzz/scenario-ir.js";

let scratch: FuzzScratch;
beforeAll(async () => {
  scratch = await FuzzScratch.create();
});
afterAll(async () => {
  await scratch.close();
});

const generate = (seed: number) => generateIn(scratch, seed, () => new ModelEngine());
const cases = (base: number, n: number) => Promise.all(Array.from({ length: n }, (_, i) => generate(sequenceSeed(base, i))));

function drivers(s: FuzzScenario): string[] {
  const fromValue = (v: FuzzValue): string[] => (v.kind === "child" ? [v.driver, ...v.options.flatMap((o) => fromValue(o.value))] : []);
  return s.statements.flatMap((st) =>
    (st.kind === "add" ? [st.node] : st.kind === "graph" ? st.nodes : []).flatMap((n) => [n.driver, ...n.options.flatMap((o) => fromValue(o.value))]),
  );
}

describe("fuzz generator", () => {
  it("gives the same scenarios for the same seed, and others for another", async () => {
    const a = await cases(7, 6);
    const b = await cases(7, 6);
    expect(b).toEqual(a);
    const other = await cases(8, 6);
    expect(other.map((s) => caseText(s).text)).not.toEqual(a.map((s) => caseText(s).text));
  });

  it("writes scenarios the checker accepts, and reaches the shapes that break", async () => {
    const all = await cases(20260101, 150);
    for (const s of all) {
      const text = caseText(s).text;
      expect(loadScenario(text, "fuzz.scn").diagnostics, text).toEqual([]);
    }
    const used = new Set(all.flatMap(drivers));
    // Every driver the model has: a driver added to the model fails this until the generator uses it.
    expect([...used].sort()).toEqual(driverNames());

    const statements: FuzzStatement[] = all.flatMap((s) => s.statements);
    const texts = all.map((s) => caseText(s).text).join("\n");
    // A qcow2 whose file is also its backing, in an add or a reopen.
    expect(texts).toMatch(/file=(\S+) backing=\1(\s|$)/);
    // A named inline child, and a node named by path.
    expect(texts).toMatch(/\(c\d+: /);
    // blkdebug rules, written as the corpus writes them.
    expect(texts).toMatch(/inject-error=\[\{"event": "\w+", "errno": (5|28)/);
    expect(texts).toMatch(/^reopen \w+\/\w+/m);
    // Transactions with many entries, the raw form, exports.
    expect(statements.some((s) => s.kind === "reopen" && s.entries.length >= 3)).toBe(true);
    expect(statements.some((s) => s.kind === "reopen" && s.raw)).toBe(true);
    expect(statements.some((s) => s.kind === "export")).toBe(true);
    expect(statements.some((s) => s.kind === "unexport")).toBe(true);
    // A del of the node a reopen just touched.
    const delAfterReopen = all.some((s) =>
      s.statements.some((st, i) => {
        const prev = s.statements[i - 1];
        return st.kind === "del" && prev?.kind === "reopen" && prev.entries[0]!.node.split("/")[0] === st.node;
      }),
    );
    expect(delAfterReopen).toBe(true);
    // The data path: qemu-io writes, reads and maps, in cases that say `require io` first.
    const io = statements.filter((st): st is Extract<FuzzStatement, { kind: "io" }> => st.kind === "io");
    for (const verb of ["write -P", "write -z", "read -P", "map", "discard"]) expect(io.some((st) => st.command.startsWith(verb)), verb).toBe(true);
    expect(io.some((st) => st.node.includes("/"))).toBe(true);
    for (const c of all.filter((x) => x.statements.some((st) => st.kind === "io"))) expect(c.statements[0]).toEqual({ kind: "require", feature: "io" });
    // AioContexts: iothreads made, nodes moved into them and out, exports pinning them, iothreads deleted.
    expect(statements.some((s) => s.kind === "iothread")).toBe(true);
    expect(statements.some((s) => s.kind === "set-iothread" && s.iothread === null)).toBe(true);
    expect(statements.some((s) => s.kind === "set-iothread" && s.iothread !== null && s.force)).toBe(true);
    expect(statements.some((s) => s.kind === "export" && s.iothread !== undefined && s.fixed)).toBe(true);
    expect(statements.some((s) => s.kind === "iothread-del")).toBe(true);
    // Block jobs, each type, in cases that say `require jobs`; held where they stay, and ended.
    const jobs = statements.filter((st): st is Extract<FuzzStatement, { kind: "job" }> => st.kind === "job");
    for (const type of ["stream", "commit", "mirror", "backup"]) expect(jobs.some((j) => j.type === type), type).toBe(true);
    for (const status of ["ready", "pending", "concluded", "null"]) expect(statements.some((st) => st.kind === "wait" && st.status === status), status).toBe(true);
    for (const verb of ["complete", "cancel", "finalize", "dismiss"]) expect(statements.some((st) => st.kind === "job-verb" && st.verb === verb), verb).toBe(true);
    expect(jobs.some((j) => j.options.some((o) => o.key === "filter-node-name"))).toBe(true);
    for (const c of all.filter((x) => x.statements.some((st) => st.kind === "job"))) expect(c.statements.filter((st) => st.kind === "require").at(-1)).toEqual({ kind: "require", feature: "jobs" });
    // The case's other steps while a job is held at ready, before it is completed or cancelled.
    const heldSteps = all.some((c) =>
      c.statements.some((st, i) => st.kind === "wait" && st.status === "ready" && ["reopen", "add", "graph", "del", "io"].includes(c.statements[i + 1]?.kind ?? "")),
    );
    expect(heldSteps).toBe(true);
    // Node commands: resizes, dirty bitmaps alone and in transactions, thresholds, both snapshots,
    // and what they changed shown.
    const commands = new Set(statements.flatMap((st) => (st.kind === "qmp" ? [st.command] : [])));
    for (const c of ["block_resize", "block-dirty-bitmap-add", "transaction", "block-set-write-threshold", "blockdev-snapshot-sync", "blockdev-snapshot"]) expect(commands, c).toContain(c);
    // A bitmap the case added, used again (a verb on it is one of three such commands, and rare).
    expect([...commands].some((c) => /^(block-dirty-bitmap-(remove|clear|enable|disable|merge)|x-debug-block-dirty-bitmap-sha256)$/.test(c))).toBe(true);
    expect(statements.some((st) => st.kind === "show-node" && st.keys[0] === "dirty-bitmaps")).toBe(true);
    // An overlay blockdev-snapshot-sync made, which its node's parents kept, named by a later step.
    const overlayNamed = all.some((c) => {
      const lines = caseText(c).text.split("\n");
      return lines.some((line, i) => {
        const overlay = /^qmp blockdev-snapshot-sync .*"snapshot-node-name": "(\w+)"/.exec(line)?.[1];
        return overlay !== undefined && lines.slice(i + 1).some((l) => new RegExp(`(^|[ =(/])${overlay}([ /)]|$)`).test(l) && !l.startsWith("qmp blockdev-snapshot-sync"));
      });
    });
    expect(overlayNamed).toBe(true);
  });

  it("dumps only whole sectors: past a vmdk's header, its descriptor holds a CID QEMU draws at random", () => {
    const rng = new Prng(7);
    const dumps = Array.from({ length: 20_000 }, () => ioCommand(rng, true, "raw")).filter((c) => c.startsWith("read -v "));
    expect(dumps.length).toBeGreaterThan(100);
    for (const c of dumps) expect(Number(c.split(" ")[2]) % 512, c).toBe(0);
  });

  it("leaves out a statement the model refuses, and ends the case there", async () => {
    const dir = scratch.make();
    const steering = await Steering.start(() => new ModelEngine(), dir.dir);
    try {
      const add: FuzzStatement = { kind: "add", node: { name: "n0", driver: "null-co", options: [{ key: "size", value: { kind: "number", value: 2 ** 54 } }] } };
      expect((await steering.run(add, "#0")).kind).toBe("ran");
      // qemu-io numbers above 2^53 are refused (E_MODEL_IO_UNSUPPORTED).
      const refused = await steering.run({ kind: "io", node: "n0", command: "read 9007199254740993 1" }, "#1");
      expect(refused.kind).toBe("dropped");
      expect(steering.refused).toBe(true);
      expect(steering.ended).toBe(false);
    } finally {
      await steering.stop();
      scratch.drop(dir);
    }
  });

  it("tries a show on the model too, and leaves out one it refuses", async () => {
    const dir = scratch.make();
    const steering = await Steering.start(() => new ModelEngine(), dir.dir);
    try {
      // A node left in a deleted iothread's context, whose memory a later iothread may have taken:
      // the model cannot tell what a query of the nodes does there (E_MODEL_IO_UNSUPPORTED).
      const setup: FuzzStatement[] = [
        { kind: "iothread", id: "io0" },
        { kind: "add", node: { name: "n1", driver: "null-co", options: [] } },
        { kind: "set-iothread", node: "n1", iothread: "io0", force: false },
        { kind: "iothread-del", id: "io0" },
        { kind: "iothread", id: "io1" },
      ];
      for (const [i, s] of setup.entries()) expect((await steering.run(s, `#${i}`)).kind).toBe("ran");
      expect((await steering.run({ kind: "show", what: "nodes" }, "#5")).kind).toBe("dropped");
      expect(steering.refused).toBe(true);
    } finally {
      await steering.stop();
      scratch.drop(dir);
    }
  });

  it("finishes a case whose steering engine fails as it stops: the case's own run meets that end", async () => {
    // A refusal part way through a statement leaves the steering model as far as it got; what its
    // stop throws then is no reason to end the whole fuzz run.
    class FailingStop extends ModelEngine {
      override async stop(): Promise<never> {
        await super.stop();
        throw new ModelIoUnsupportedError("a flush at the close");
      }
    }
    const a = await generateIn(scratch, 5, () => new FailingStop());
    expect(a).toEqual(await generate(5));
  });
});
