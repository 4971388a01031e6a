/**
 * Images for a scenario, made inside the scratch directory as `qemu-img create` makes them.
 *
 * The common case — a new raw or qcow2 image with neither backing file nor data file — is written
 * in-process by the model's image writer, which produces qemu-img 7.2's bytes and allocation exactly
 * (tests/qemu/images-in-process.test.ts compares them). That saves a process start per image, the
 * largest cost of a short scenario after QEMU's own start. Everything where qemu-img does more than
 * write a file runs qemu-img itself: a backing file (qemu-img opens it, and can fail on its format
 * or its locks), a data file (created and opened by qemu-img), a target that already exists (it may
 * be open and locked by QEMU), a name qemu-img could read as a protocol or option, an unusual size,
 * and any in-process write that fails (so the error is qemu-img's own message).
 */
import { closeSync, openSync, rmSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { ConfigError } from "../../errors.js";
import type { ImageSpec } from "../engine.js";
import { writeImage } from "../model/images/write-image.js";
import { dieWithParent, setprivCouldNotExec } from "./die-with-parent.js";
import { QemuImgError } from "./errors.js";
import { loadExeca } from "./qemu-process.js";

export interface CreateImageOptions {
  /** qemu-img binary. */
  binary: string;
  /** The scenario's scratch directory; `spec.path` is relative to it. */
  workdir: string;
  timeoutMs: number;
  /** Aborting kills qemu-img (the engine stops: a scenario timed out or was interrupted). */
  signal?: AbortSignal;
}

/** The qemu-img arguments for `spec` (path as given; qemu-img runs in the workdir). */
export function qemuImgCreateArgs(spec: ImageSpec): string[] {
  const backing = spec.backingFile
    ? ["-b", spec.backingFile, ...(spec.backingFormat ? ["-F", spec.backingFormat] : [])]
    : [];
  const options = [
    ...(spec.dataFile !== undefined ? [`data_file=${spec.dataFile}`] : []),
    ...(spec.createOptions ?? []).map(([k, v]) => `${k}=${v}`),
  ];
  // qemu-img's option syntax doubles a comma inside a value.
  const o = options.length > 0 ? ["-o", options.map((x) => x.replaceAll(",", ",,")).join(",")] : [];
  return ["create", "-q", "-f", spec.format, ...backing, ...o, spec.path, String(spec.size)];
}

/** Names qemu-img takes as a plain file name: no protocol prefix ("nbd:…"), no "json:", no option syntax. */
const PLAIN_NAME = /^[A-Za-z0-9_./-]+$/;
/** Sizes the in-process writer takes on (a qcow2 L1 table of at most 16 KiB); larger ones go to qemu-img. */
const MAX_IN_PROCESS_SIZE = 2 ** 40;

/** The only fields an in-process image may set; any other (a backing file, a data file, an option added later) goes to qemu-img. */
const IN_PROCESS_FIELDS = new Set(["path", "format", "size"]);

/** Whether `spec` is an image qemu-img would only write, never open or check against another file. */
export function writtenInProcess(spec: ImageSpec): boolean {
  return (
    (spec.format === "raw" || spec.format === "qcow2") &&
    Object.entries(spec).every(([key, value]) => value === undefined || IN_PROCESS_FIELDS.has(key)) &&
    PLAIN_NAME.test(spec.path) &&
    Number.isSafeInteger(spec.size) &&
    spec.size >= 0 &&
    spec.size <= MAX_IN_PROCESS_SIZE
  );
}

/**
 * Write a new image in-process; false (and nothing left behind) when qemu-img must make it instead:
 * the file exists already, or the write failed.
 */
function writeNew(abs: string, spec: ImageSpec): boolean {
  let fd: number;
  try {
    // O_EXCL: an existing file (perhaps open in QEMU) is left to qemu-img. 0644 is the mode file-posix creates with.
    fd = openSync(abs, "wx", 0o644);
  } catch {
    return false;
  }
  closeSync(fd);
  try {
    writeImage(abs, spec);
    return true;
  } catch {
    rmSync(abs, { force: true });
    return false;
  }
}

/** Create the image; QemuImgError with qemu-img's own message on failure. */
export async function createImage(spec: ImageSpec, opts: CreateImageOptions): Promise<void> {
  const abs = resolve(opts.workdir, spec.path);
  await mkdir(dirname(abs), { recursive: true });
  if (writtenInProcess(spec) && !opts.signal?.aborted && writeNew(abs, spec)) return;
  await runQemuImg(spec, opts);
}

async function runQemuImg(spec: ImageSpec, opts: CreateImageOptions): Promise<void> {
  const args = qemuImgCreateArgs(spec);
  // Through setpriv when there is one, so that qemu-img too dies with us.
  const launcher = dieWithParent(opts.binary, args);
  const execa = await loadExeca();
  const result = await execa(launcher.file, launcher.args, {
    cwd: opts.workdir,
    stdin: "ignore",
    all: true,
    reject: false,
    timeout: opts.timeoutMs,
    killSignal: "SIGKILL",
    ...(opts.signal ? { cancelSignal: opts.signal } : {}),
  });
  if (result.failed) {
    if (result.code === "ENOENT" || setprivCouldNotExec(launcher, result.exitCode)) {
      throw new ConfigError(`cannot run '${opts.binary}' (set QEMU_IMG_PROG or fix PATH)`);
    }
    const output = (result.all ?? "").trimEnd();
    // A qemu-img that died of a signal (a crash, the OOM killer) prints little or nothing: say how it ended.
    const why = result.timedOut
      ? `timed out after ${opts.timeoutMs} ms`
      : result.isCanceled
        ? "killed: the engine stopped"
        : result.signal
          ? [`killed by signal ${result.signal}`, output].filter(Boolean).join("\n")
          : output || `exit code ${result.exitCode ?? "unknown"}, no output`;
    throw new QemuImgError([opts.binary, ...args].join(" "), why);
  }
}
