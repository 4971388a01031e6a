/**
 * The image files at the end of a sequence, compared byte for byte between the engines. Each engine
 * ran in its own scratch directory; once it has stopped (QEMU closed its images, flushing what it
 * caches), every file the sequence's image steps created — images and external data files — is read
 * back whole. The model writes real image files, so qcow2 allocation (cluster placement, refcounts,
 * L2 entries, compressed cluster descriptors) must be QEMU's exactly. One thing is masked: the
 * scratch directory's own path, which a header can hold (a backing file name written as an
 * absolute path) and which differs between the two runs; both are equally long
 * (`withScratchDir`), so the mask keeps every offset; and the UUIDs and timestamps qemu-img writes
 * at random into vdi, vpc and vhdx headers (maskRandomFields). After a mirror-based job, qcow2 files are
 * compared by content when their bytes differ (see `firstImageDifference`).
 */
import { existsSync, readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import path from "node:path";
import type { Engine, EngineFeature } from "../../src/engines/engine.js";
import { maskRandomFields } from "../../src/engines/model/images/vdi-vpc-vhdx-random-fields.js";
import type { RunDifference } from "./compare.js";
import { maskLuksImage } from "./gen-luks.js";
import { qcow2Content } from "./qcow2-content.js";
import { withScratchDir } from "./scratch-dir.js";
import type { RecordedStep, Step } from "./steps.js";

/** One file as the sequence left it (null: it does not exist). */
export interface ImageFile {
  path: string;
  bytes: Buffer | null;
}

/** The files a sequence's image steps create, in order of first mention. */
export function imagePaths(steps: readonly (Step | RecordedStep)[]): string[] {
  const out: string[] = [];
  for (const s of steps) {
    if (s.kind !== "image") continue;
    for (const p of [s.spec.path, s.spec.dataFile]) if (p !== undefined && !out.includes(p)) out.push(p);
  }
  return out;
}

/** The engine features a sequence needs: `io` when it has an io step (qemu-system on the qemu engine). */
export function featuresFor(steps: readonly (Step | RecordedStep)[]): Set<EngineFeature> {
  return new Set<EngineFeature>(steps.some((s) => s.kind === "io") ? ["io"] : []);
}

/**
 * Start `make()` with `features` in a private scratch directory, run `body`, stop the engine, read
 * `paths` (relative to the scratch directory), then remove the directory.
 */
export async function withEngineImages<T>(make: () => Engine, features: Set<EngineFeature>, paths: readonly string[], body: (engine: Engine, workdir: string) => Promise<T>): Promise<{ result: T; images: ImageFile[] }> {
  return withScratchDir("run", async (workdir) => {
    const engine = make();
    let result: T;
    try {
      await engine.start({ workdir, features });
      result = await body(engine, workdir);
    } finally {
      await engine.stop();
    }
    // The model keeps its images in memory until asked to put them on disk.
    engine.writeFilesOut?.();
    const images = paths.map((p) => {
      const file = path.join(workdir, p);
      return { path: p, bytes: existsSync(file) ? maskLuksImage(p, maskRandomFields(maskPath(readFileSync(file), workdir))) : null };
    });
    return { result, images };
  });
}

/** Whether a mirror-based job (blockdev-mirror, active commit: the jobs that go READY) ran in QEMU's run. */
export function mirrored(qemu: readonly RecordedStep[]): boolean {
  return qemu.some((s) => s.kind === "qmp" && ((s.execute === "blockdev-mirror" && "return" in s.reply) || s.events.some((e) => e.event === "BLOCK_JOB_READY")));
}

/** `bytes` with every occurrence of `dir` overwritten by as many '#'. */
export function maskPath(bytes: Buffer, dir: string): Buffer {
  const needle = Buffer.from(dir);
  for (let at = bytes.indexOf(needle); at >= 0; at = bytes.indexOf(needle, at + needle.length)) bytes.fill(0x23, at, at + needle.length);
  return bytes;
}

function describe(bytes: Buffer | null): string {
  return bytes === null ? "missing" : `${bytes.length} bytes, sha256 ${createHash("sha256").update(bytes).digest("hex").slice(0, 16)}`;
}

/** 32 bytes from `at`, in hex. */
function window(bytes: Buffer, at: number): string {
  return bytes.subarray(at, at + 32).toString("hex").replace(/(..)/g, "$1 ").trim() || "(end of file)";
}

/** Where two files first differ, or -1. */
function firstDifferentByte(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i += 4096) {
    const end = Math.min(n, i + 4096);
    if (a.subarray(i, end).equals(b.subarray(i, end))) continue;
    for (let k = i; k < end; k++) if (a[k] !== b[k]) return k;
  }
  return a.length === b.length ? -1 : n;
}

/**
 * The first file whose bytes differ, as a difference after the run's last step (`step`). With
 * `placement` "content", qcow2 files whose bytes differ are compared by what they hold instead
 * (qcow2-content.ts): for sequences where a mirror-based job copied data, whose cluster order QEMU
 * does not keep from one run to the next.
 */
export function firstImageDifference(expected: readonly ImageFile[], actual: readonly ImageFile[], step: number, placement: "bytes" | "content" = "bytes"): RunDifference | undefined {
  for (const e of expected) {
    const a = actual.find((f) => f.path === e.path) ?? { path: e.path, bytes: null };
    if (e.bytes === null || a.bytes === null) {
      if (e.bytes === a.bytes) continue;
      return { step, expected: [`image file ${e.path}: ${describe(e.bytes)}`], actual: [`image file ${e.path}: ${describe(a.bytes)}`] };
    }
    const at = firstDifferentByte(e.bytes, a.bytes);
    if (at < 0) continue;
    if (placement === "content") {
      const [ce, ca] = [qcow2Content(e.bytes), qcow2Content(a.bytes)];
      if (ce !== undefined && ca !== undefined) {
        const i = ce.findIndex((line, k) => line !== ca[k]);
        if (i < 0 && ce.length === ca.length) continue;
        const k = i < 0 ? Math.min(ce.length, ca.length) : i;
        return { step, expected: [`image file ${e.path} (by content): ${ce[k] ?? "(end)"}`], actual: [`image file ${e.path} (by content): ${ca[k] ?? "(end)"}`] };
      }
    }
    const line = (b: Buffer) => [`image file ${e.path}: ${describe(b)}`, `  first difference at byte ${at} (0x${at.toString(16)}): ${window(b, at)}`];
    return { step, expected: line(e.bytes), actual: line(a.bytes) };
  }
  return undefined;
}
