/** Images for a scenario, made by `qemu-img create` inside the scratch directory. */
import { mkdir } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { execa } from "execa";
import { ConfigError } from "../../errors.js";
import type { ImageSpec } from "../engine.js";
import { QemuImgError } from "./errors.js";

export interface CreateImageOptions {
  /** qemu-img binary. */
  binary: string;
  /** The scenario's scratch directory; `spec.path` is relative to it. */
  workdir: string;
  timeoutMs: number;
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
  const result = await execa(opts.binary, args, {
    cwd: opts.workdir,
    stdin: "ignore",
    all: true,
    reject: false,
    timeout: opts.timeoutMs,
    killSignal: "SIGKILL",
  });
  if (result.failed) {
    if (result.code === "ENOENT") throw new ConfigError(`cannot run '${opts.binary}' (set QEMU_IMG_PROG or fix PATH)`);
    const why = result.timedOut ? `timed out after ${opts.timeoutMs} ms` : (result.all ?? "");
    throw new QemuImgError([opts.binary, ...args].join(" "), why);
  }
}
