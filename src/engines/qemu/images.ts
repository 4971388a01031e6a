/** Images for a scenario, made by `qemu-img create` inside the scratch directory. */
import { mkdir } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { execa } from "execa";
import { ConfigError } from "../../errors.js";
import type { ImageSpec } from "../engine.js";
import { dieWithParent, setprivCouldNotExec } from "./die-with-parent.js";
import { QemuImgError } from "./errors.js";

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
  const dataFile = spec.dataFile !== undefined ? ["-o", `data_file=${spec.dataFile.replaceAll(",", ",,")}`] : [];
  return ["create", "-q", "-f", spec.format, ...backing, ...dataFile, spec.path, String(spec.size)];
}

/** Create the image; QemuImgError with qemu-img's own message on failure. */
export async function createImage(spec: ImageSpec, opts: CreateImageOptions): Promise<void> {
  await mkdir(dirname(resolve(opts.workdir, spec.path)), { recursive: true });
  const args = qemuImgCreateArgs(spec);
  // Through setpriv when there is one, so that qemu-img too dies with us.
  const launcher = dieWithParent(opts.binary, args);
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
