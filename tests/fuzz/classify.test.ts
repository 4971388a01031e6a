/**
 * Crash classification: one bug is one signature however its log spells line numbers and paths;
 * a fuzz run that meets it in many cases reports it once, shrinks it once, and counts the rest.
 */
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { EngineKind } from "../../src/engines/engine.js";
import { EngineFailedError } from "../../src/engines/errors.js";
import { QemuTimeoutError } from "../../src/engines/qemu/errors.js";
import { ModelEngine } from "../../src/engines/model/model-engine.js";
import { classify } from "../../src/fuzz/classify.js";
import { crashKey, crashSignature, normalizeCrashText, sameCrash } from "../../src/fuzz/crash-signature.js";
import type { CaseRun } from "../../src/fuzz/run-case.js";
import { QmpEventTimeoutError } from "../../src/qmp/errors.js";
import { divergenceKey } from "../../src/fuzz/divergence.js";
import { runFuzz } from "../../src/fuzz/fuzz-run.js";
import { parseSegfaultRecord } from "../../src/fuzz/kernel-crash-log.js";
import { crashingEngine } from "./support/crashing-engine.js";

const abort = (line: number, prefix = "../../") =>
  `qemu-storage-daemon: ${prefix}block/io.c:${line}: bdrv_parent_drained_end_single_no_poll: Assertion \`c->parent_quiesce_counter > 0' failed.\n`;
const SIGABRT = { exitCode: undefined, signal: "SIGABRT" };
const SIGSEGV = { exitCode: undefined, signal: "SIGSEGV" };

describe("crash signatures", () => {
  it("normalize paths and numbers, so a rebuild does not split one bug", () => {
    const a = crashSignature({ exit: SIGABRT, command: "blockdev-reopen", log: `some noise\n${abort(64)}` });
    const b = crashSignature({ exit: SIGABRT, command: "blockdev-del", log: abort(71, "/build/qemu-7.2/") });
    expect(a.detail).toBe("io.c:N: bdrv_parent_drained_end_single_no_poll: Assertion `c->parent_quiesce_counter > N' failed.");
    expect(a.evidence).toBe(abort(64).slice("qemu-storage-daemon: ".length).trim());
    expect(crashKey(a)).toBe(crashKey(b));
    expect(sameCrash(a, b)).toBe(true);
    expect(normalizeCrashText("ERROR:../../block.c:4390:bdrv_reopen_multiple: code should not be reached")).toBe(
      "ERROR:block.c:N:bdrv_reopen_multiple: code should not be reached",
    );
  });

  it("tell different assertions, signals and stack frames apart", () => {
    const a = crashSignature({ exit: SIGABRT, command: "blockdev-reopen", log: abort(64) });
    const other = crashSignature({ exit: SIGABRT, command: "blockdev-reopen", log: "qemu-storage-daemon: ../../block.c:4405: bdrv_reopen_multiple: Assertion `bs_entry->state.bs->quiesce_counter > 0' failed." });
    expect(sameCrash(a, other)).toBe(false);
    const f1 = crashSignature({ exit: SIGSEGV, command: "quit", log: "==1==ERROR: AddressSanitizer: heap-use-after-free\n    #0 0x55d0 in bdrv_unref_child /src/block.c:3172\n    #1 0x55e0 in bdrv_close /src/block.c:4850" });
    const f2 = crashSignature({ exit: SIGSEGV, command: "quit", log: "    #0 0x7777 in bdrv_unref_child /other/block.c:3180\n" });
    expect(f2.detail).toBe("in bdrv_unref_child");
    expect(crashKey(f2)).toBe("SIGSEGV in bdrv_unref_child");
    expect(sameCrash(f1, a)).toBe(false);
  });

  it("use the kernel's segfault site when QEMU printed nothing, and the command when there is none", () => {
    const rec = "qemu-storage-da[11474]: segfault at 78 ip 00005593bcb92ea7 sp 00007ffc307ad550 error 4 in qemu-storage-daemon[e6ea7,5593bcb70000+161000] likely on CPU 0 (core 0, socket 0)";
    expect(parseSegfaultRecord(rec)).toEqual({ pid: 11474, site: "qemu-storage-daemon+0xe6ea7" });
    // Kernels before 6.1 give only the mapping's base.
    expect(parseSegfaultRecord("qemu-storage-da[7]: segfault at 0 ip 0000000000401234 sp 00007ffc error 4 in qemu-storage-daemon[400000+161000]")).toEqual({
      pid: 7,
      site: "qemu-storage-daemon+0x1234",
    });
    expect(parseSegfaultRecord("usb 1-1: new device")).toBeUndefined();

    const atDel = crashSignature({ exit: SIGSEGV, command: "blockdev-del", log: "", site: "qemu-storage-daemon+0xdd3f3" });
    const atQuit = crashSignature({ exit: SIGSEGV, command: "quit", log: "", site: "qemu-storage-daemon+0xdd3f3" });
    const elsewhere = crashSignature({ exit: SIGSEGV, command: "blockdev-reopen", log: "", site: "qemu-storage-daemon+0xe6ea7" });
    const unlogged = crashSignature({ exit: SIGSEGV, command: "blockdev-del", log: "" });
    expect(sameCrash(atDel, atQuit)).toBe(true);
    expect(sameCrash(atDel, elsewhere)).toBe(false);
    // The kernel rate-limits its lines: without a site, the command decides.
    expect(sameCrash(atDel, unlogged)).toBe(true);
    expect(sameCrash(elsewhere, unlogged)).toBe(false);
    expect(crashKey(unlogged)).toBe("SIGSEGV in blockdev-del");
  });

  it("key divergences by statement and abstracted lines", () => {
    const q = "scenario \"fuzz\"\n\nadd q3: qcow2 file=f1\n  error: Block node is read-only\nshow graph\n";
    const m = "scenario \"fuzz\"\n\nadd q3: qcow2 file=f1\n  ok\nshow graph\n";
    const m2 = "scenario \"fuzz\"\n\nadd q7: qcow2 file=f2\n  ok\n";
    const q2 = "scenario \"fuzz\"\n\nadd q7: qcow2 file=f2\n  error: Block node is read-only\n";
    expect(divergenceKey(q, m).key).toBe("add: qemu error: Block node is read-only / model ok");
    expect(divergenceKey(q2, m2).key).toBe(divergenceKey(q, m).key);
  });
});

describe("the verdict of a case", () => {
  const run = (engine: EngineKind, over: Partial<CaseRun> = {}): CaseRun => ({ engine, transcript: "t\n", failures: [], seen: { stop: { kind: "clean" } }, durationMs: 1, ...over });
  const crashed = (log: string): Partial<CaseRun> => ({
    transcript: "t\n  QEMU crashed: SIGABRT\n",
    seen: { crash: { command: "blockdev-reopen", exit: SIGABRT, message: "" }, stop: { kind: "crashed", exit: SIGABRT, logTail: log } },
  });
  const none = () => undefined;

  it("is a pass when both engines agree, and a divergence when they do not", () => {
    expect(classify({ model: run("model"), qemu: run("qemu") }, none)).toEqual({ kind: "pass" });
    expect(classify({ model: run("model", { transcript: "x\n  ok\n" }), qemu: run("qemu", { transcript: "x\n  error: no\n" }) }, none)).toMatchObject({
      kind: "finding",
      cls: "divergence",
    });
  });

  it("puts a model exception first, then QEMU's crash, hang, and the model's hang", () => {
    const thrown = run("model", { thrown: new TypeError("x is undefined") });
    expect(classify({ model: thrown, qemu: run("qemu", crashed(abort(64))) }, none)).toMatchObject({ cls: "model-exception" });
    expect(classify({ model: run("model"), qemu: run("qemu", crashed(abort(64))) }, none)).toMatchObject({ cls: "qemu-crash" });
    const hung = run("qemu", { failures: [{ kind: "timeout", message: "timed out after 30s" }] });
    expect(classify({ model: run("model"), qemu: hung }, none)).toMatchObject({ cls: "qemu-hang" });
    // A wait for an event that never comes is a hang, on either engine.
    const modelHung = run("model", { seen: { error: new QmpEventTimeoutError("BLOCK_EXPORT_DELETED", 10_000) } });
    expect(classify({ model: modelHung, qemu: run("qemu") }, none)).toMatchObject({ cls: "model-hang" });
    const runnerError = run("model", { failures: [{ kind: "error", message: "E_ENGINE_QUERY: x-debug-query-block-graph failed on the model engine: boom" }] });
    expect(classify({ model: runnerError }, none)).toMatchObject({ cls: "model-exception", summary: "E_ENGINE_QUERY: x-debug-query-block-graph failed on the model engine: boom" });
    expect(classify({ model: run("model", { failures: [{ kind: "timeout", message: "timed out after 30s" }] }) }, none)).toMatchObject({ cls: "model-hang" });
    // A bug the runner caught at a step is keyed as the same throw would be.
    const stack = "TypeError: x is undefined\n    at replaceNode (/b/dist/bundle/cli.cjs:10:5)";
    const bug = run("model", { failures: [{ kind: "error", message: "internal error (this is a bug): TypeError: x is undefined", details: stack, source: "job finalize j0", internal: true, infrastructure: true }] });
    const err = new TypeError("x is undefined");
    err.stack = stack;
    expect(classify({ model: bug }, none)).toEqual(classify({ model: run("model", { thrown: err }) }, none));
    expect(classify({ model: bug }, none)).toMatchObject({ cls: "model-exception", summary: "TypeError: x is undefined (at replaceNode (cli.cjs))" });
  });

  it("calls a QEMU crash the model predicts known, not a finding", () => {
    expect(classify({ model: run("model", crashed("")), qemu: run("qemu", crashed(abort(64))) }, none)).toMatchObject({ kind: "known-crash" });
  });

  it("finds nothing at quit where the model cannot tell how QEMU ends, and still compares what came before", () => {
    const refusal = "E_MODEL_IO_UNSUPPORTED: the model engine cannot tell how QEMU 7.2 ends at quit: why";
    const unknown = (transcript: string) =>
      run("model", { transcript: `${transcript}(quit)\n  (the model cannot tell how QEMU ends)\n`, failures: [{ kind: "error", message: refusal, infrastructure: true }], seen: { stop: { kind: "unknown", reason: "why" } } });
    const segfaultAtQuit = (transcript: string) =>
      run("qemu", { transcript: `${transcript}(quit)\n  QEMU crashed: SIGSEGV\n`, seen: { stop: { kind: "crashed", exit: { exitCode: undefined, signal: "SIGSEGV" }, logTail: "" } } });
    expect(classify({ model: unknown("t\n"), qemu: segfaultAtQuit("t\n") }, none)).toEqual({ kind: "pass" });
    expect(classify({ model: unknown("t\n"), qemu: run("qemu") }, none)).toEqual({ kind: "pass" });
    expect(classify({ model: unknown("t\n") }, none)).toEqual({ kind: "pass" });
    expect(classify({ model: unknown("t\n  ok\n"), qemu: segfaultAtQuit("t\n  error: no\n") }, none)).toMatchObject({ kind: "finding", cls: "qemu-crash" });
  });

  it("calls a QEMU hang the model predicts known, and a hang it predicts where QEMU answers a divergence", () => {
    const hungEnd = "t\n  QEMU hung and was killed\n(run stopped)\n";
    const foreseen = run("model", { transcript: hungEnd, seen: { error: new EngineFailedError("E_QEMU_WOULD_HANG", "qemu-io n0 \"read 0 4k\"", "QEMU hung and was killed", "m"), stop: { kind: "killed", reason: "r", logTail: "" } } });
    const killed = run("qemu", { transcript: hungEnd, seen: { error: new QemuTimeoutError("human-monitor-command", 30_000, ""), stop: { kind: "clean" } } });
    expect(classify({ model: foreseen, qemu: killed }, none)).toEqual({ kind: "known-hang", command: 'qemu-io n0 "read 0 4k"' });
    // The scenario's own timeout may fire before QEMU's command timeout: the same hang.
    const timedOut = run("qemu", { transcript: "t\n  (timed out)\n(run stopped)\n", failures: [{ kind: "timeout", message: "E_SCENARIO_TIMEOUT: timed out", infrastructure: true }], seen: { stop: { kind: "clean" } } });
    expect(classify({ model: foreseen, qemu: timedOut }, none)).toEqual({ kind: "known-hang", command: 'qemu-io n0 "read 0 4k"' });
    const timedOutElsewhere = run("qemu", { transcript: "u\n  (timed out)\n(run stopped)\n", failures: [{ kind: "timeout", message: "E_SCENARIO_TIMEOUT: timed out", infrastructure: true }], seen: { stop: { kind: "clean" } } });
    expect(classify({ model: foreseen, qemu: timedOutElsewhere }, none)).toMatchObject({ kind: "finding", cls: "qemu-hang" });
    expect(classify({ model: foreseen, qemu: run("qemu") }, none)).toMatchObject({ kind: "finding", cls: "divergence" });
    expect(classify({ model: run("model"), qemu: killed }, none)).toMatchObject({ kind: "finding", cls: "qemu-hang" });
  });

  it("calls a hang at quit the model predicts known, where all that came before agrees", () => {
    const atQuit = (before: string) => `${before}(quit)\n  QEMU hung at quit and was killed\n`;
    const foreseen = run("model", { transcript: atQuit("t\n  ok\n"), seen: { stop: { kind: "killed", reason: "node 'n2' runs in iothread 'io1', whose lock …", logTail: "" } } });
    const hung = (before: string) => run("qemu", { transcript: atQuit(before), seen: { stop: { kind: "killed", reason: "it did not exit within 5000 ms of 'quit' and was killed", logTail: "" } } });
    expect(classify({ model: foreseen, qemu: hung("t\n  ok\n") }, none)).toEqual({ kind: "known-hang", command: "quit" });
    expect(classify({ model: foreseen, qemu: hung("t\n  error: no\n") }, none)).toMatchObject({ kind: "finding", cls: "qemu-hang" });
    expect(classify({ model: run("model"), qemu: hung("t\n  ok\n") }, none)).toMatchObject({ kind: "finding", cls: "qemu-hang" });
  });
});

describe("a fuzz run that meets one crash in many cases", () => {
  let out: string | undefined;
  afterEach(async () => {
    if (out) await rm(out, { recursive: true, force: true });
  });

  it("reports it once, with the count, and shrinks and writes it once", async () => {
    out = await mkdtemp(path.join(os.tmpdir(), "bc-fuzz-test-"));
    const log = abort(64);
    const summary = await runFuzz({
      engines: ["model", "qemu"],
      seed: 5,
      count: 8,
      jobs: 2,
      outDir: out,
      timeoutMs: 10_000,
      shrinkBudget: 100,
      // "QEMU" aborts at the first reopen, whatever it reopens.
      makeEngine: (kind: EngineKind) => (kind === "model" ? new ModelEngine() : crashingEngine((c) => c === "blockdev-reopen", "SIGABRT", log)),
      command: "blockcheck fuzz --seed 5 --count 8",
    });
    expect(summary.cases).toBe(8);
    const crashes = summary.findings.filter((f) => f.cls === "qemu-crash");
    expect(crashes).toHaveLength(1);
    expect(summary.findings).toHaveLength(1);
    const [f] = crashes;
    expect(f!.count).toBeGreaterThan(1);
    expect(f!.summary).toContain("Assertion `c->parent_quiesce_counter > 0' failed.");
    expect(f!.written?.passesOnReference).toBe(true);
    expect(f!.written?.reproduces).toBe(true);
    const files = (await readdir(out)).sort();
    expect(files).toEqual([`qemu-crash-${f!.caseSeed.toString(16).padStart(8, "0")}.out`, `qemu-crash-${f!.caseSeed.toString(16).padStart(8, "0")}.scn`]);
    const scn = await readFile(path.join(out, files[1]!), "utf8");
    expect(scn).toMatch(/^# Found by `blockcheck fuzz --seed 5 --count 8` \(case \d+, case seed 0x[0-9a-f]+\),$/m);
    expect(scn).toMatch(/^tags fuzz qemu-crash$/m);
    // The crash needs one reopen and whatever it reopens.
    expect(scn.split("\n").filter((l) => /^reopen /.test(l))).toHaveLength(1);
  });
});
