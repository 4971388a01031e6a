/**
 * Images for a scenario, made inside the scratch directory as `qemu-img create` makes them.
 *
 * The common case — a new raw, qcow2, qed, qcow or parallels image without data file or creation
 * options — is written in-process by the model's image writer, which produces qemu-img 7.2's bytes
 * and allocation exactly for these formats (tests/qemu/images-in-process.test.ts compares them;
 * vdi, vpc and vhdx are left to qemu-img: it draws UUIDs and reads the clock, and QEMU should see
 * its values, not the writer's zeros). That saves a process start per image, the
 * largest cost of a short scenario after QEMU's own start. Everything where qemu-img does more than
 * write a file runs qemu-img itself: a data file (created and opened by qemu-img), a target that
 * already exists (it may be open and locked by QEMU), a name qemu-img could read as a protocol or
 * option, an unusual size, any in-process write that fails (so the error is qemu-img's own
 * message), and a backing file qemu-img could fail to open. qemu-img opens the backing chain
 * (read-only, sharing every permission) before it writes: that open is known to succeed only for a
 * backing file this engine wrote itself, in the format given, with no QEMU command sent since — so
 * no node has it open, and nothing but our writer has written it (a chain of such files is pristine
 * all the way down, since the record is only ever cleared whole).
 */
import { closeSync, existsSync, openSync, rmSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { dirname, isAbsolute, join, normalize, resolve } from "node:path";
import { ConfigError } from "../../errors.js";
import type { ImageSpec } from "../engine.js";
import { imageLayout, surroundings, writeImage } from "../model/images/write-image.js";
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
  /** What the engine wrote in-process since its last command; an image written in-process joins it. */
  pristine?: PristineImages;
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
  const objects = (spec.secrets ?? []).flatMap((sec) => [
    "--object",
    ["secret", `id=${sec.id}`, ...Object.entries(sec.props).map(([k, v]) => `${k}=${v}`)].map((x) => x.replaceAll(",", ",,")).join(","),
  ]);
  return ["create", "-q", ...objects, "-f", spec.format, ...backing, ...o, spec.path, String(spec.size)];
}

/** Names qemu-img takes as a plain file name: no protocol prefix ("nbd:…"), no "json:", no option syntax. */
const PLAIN_NAME = /^[A-Za-z0-9_./-]+$/;
/** Sizes the in-process writer takes on (a qcow2 L1 table of at most 16 KiB); larger ones go to qemu-img. */
const MAX_IN_PROCESS_SIZE = 2 ** 40;

/** The only fields an in-process image may set; any other (a data file, an option added later) goes to qemu-img. */
const IN_PROCESS_FIELDS = new Set(["path", "format", "size", "backingFile", "backingFormat"]);

/** Formats whose writer makes qemu-img's bytes exactly (nothing drawn at random or read from the clock). */
const EXACT_FORMATS = new Set(["raw", "qcow2", "qed", "qcow", "parallels"]);
/** Of those, the formats whose header may name a backing file. */
const BACKED_FORMATS = new Set(["qcow2", "qed", "qcow"]);

/**
 * The images an engine wrote in-process since it last sent QEMU a command (paths relative to the
 * scratch directory, normalized), with their formats: nothing has opened or changed them since.
 */
export class PristineImages {
  readonly #formats = new Map<string, string>();

  add(spec: ImageSpec): void {
    this.#formats.set(normalize(spec.path), spec.format);
  }

  formatOf(relPath: string): string | undefined {
    return this.#formats.get(normalize(relPath));
  }

  /** QEMU is about to get a command: from now on it may have any of them open. */
  clear(): void {
    this.#formats.clear();
  }
}

/**
 * Whether `spec` is an image whose qemu-img run is known to do nothing but write it (and, for vmdk,
 * read its backing file's CID): no backing file, or one in `pristine` in the given format, named as
 * qemu-img takes a plain file name, and not the image itself (qemu-img compares the two names as given).
 */
export function writtenInProcess(spec: ImageSpec, pristine?: PristineImages): boolean {
  // A vmdk, whatever its -o options: qemu-img draws its CID at random, the writer's is one it could
  // have drawn, and both engines then have the same file to show.
  const vmdk = spec.format === "vmdk" && spec.dataFile === undefined;
  const backingOk =
    spec.backingFile === undefined
      ? spec.backingFormat === undefined
      : (BACKED_FORMATS.has(spec.format) || vmdk) &&
        spec.backingFormat !== undefined &&
        PLAIN_NAME.test(spec.backingFile) &&
        !isAbsolute(spec.backingFile) &&
        spec.backingFile !== spec.path &&
        pristine?.formatOf(join(dirname(spec.path), spec.backingFile)) === spec.backingFormat;
  return (
    (EXACT_FORMATS.has(spec.format) || vmdk) &&
    Object.entries(spec).every(([key, value]) => value === undefined || IN_PROCESS_FIELDS.has(key) || (vmdk && key === "createOptions")) &&
    backingOk &&
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
    // Extent files made along with the image (vmdk) must be new as well.
    if ((imageLayout(spec, surroundings(abs)).siblings ?? []).some((f) => existsSync(join(dirname(abs), f.name)))) {
      rmSync(abs, { force: true });
      return false;
    }
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
  if (writtenInProcess(spec, opts.pristine) && !opts.signal?.aborted && writeNew(abs, spec)) {
    opts.pristine?.add(spec);
    return;
  }
  await runQemuImg(spec, opts);
}

/**
 * qemu-img's LUKS key setup times PBKDF2 on the thread's CPU clock and gives up when a round
 * measured no time at all ("Unable to get accurate CPU usage"), which a busy host's coarse CPU
 * accounting makes happen now and then: a measurement that failed, not an answer about the image.
 * Debian's 7.2.22 gives up on the first such round: on a loaded 2-CPU machine a quarter of all
 * creates failed, and five in a row did fail once. A failed try costs one short qemu-img run.
 */
const CPU_CLOCK_FLUKE = /Unable to get accurate CPU usage/;
const CPU_CLOCK_ATTEMPTS = 30;

async function runQemuImg(spec: ImageSpec, opts: CreateImageOptions): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await runQemuImgOnce(spec, opts);
    } catch (e) {
      if (!(e instanceof QemuImgError) || !CPU_CLOCK_FLUKE.test(e.message) || attempt === CPU_CLOCK_ATTEMPTS) throw e;
    }
  }
}

async function runQemuImgOnce(spec: ImageSpec, opts: CreateImageOptions): Promise<void> {
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
    // What qemu-img said about the image, when it ran to its end: error_reportf_err puts the
    // program name and the file name in front, which no other engine has.
    const exited = !result.timedOut && !result.isCanceled && !result.signal && output !== "";
    const reason = exited ? output.replace(/^qemu-img: /, "").replace(`${spec.path}: `, "") : undefined;
    throw new QemuImgError([opts.binary, ...args].join(" "), why, reason);
  }
}
