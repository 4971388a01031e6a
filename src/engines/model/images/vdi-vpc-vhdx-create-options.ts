/**
 * qemu-img's `-o` options for the vdi, vpc and vhdx writers: each value parsed by its QemuOpts type
 * in the order written (qemu_opts_do_parse stops at the first that does not parse), the last of a
 * repeated key winning (qemu_opt_find looks from the end).
 */
import type { ImageSpec } from "../../engine.js";
import { absorbQemuOpts, QemuOpts, type QemuOptType, type QemuOptValue } from "../drivers/qemu-opts.js";
import { QmpFailure } from "../qmp-failure.js";
import { ImageSpecError } from "./image-errors.js";

/** The spec's creation options as QemuOpts of the format's `create_opts` types; ImageSpecError with QemuOpts' message. */
export function parseCreateOptions(spec: ImageSpec, desc: Readonly<Record<string, QemuOptType>>): QemuOpts {
  const values = new Map<string, QemuOptValue>();
  for (const [key, value] of spec.createOptions ?? []) {
    const type = desc[key];
    if (type === undefined) throw new ImageSpecError(`Invalid parameter '${key}'`);
    let one: QemuOpts;
    try {
      one = absorbQemuOpts({ [key]: value }, { [key]: type });
    } catch (e) {
      if (e instanceof QmpFailure) throw new ImageSpecError(e.message);
      throw e;
    }
    values.set(key, type === "bool" ? one.bool(key, false) : type === "string" ? one.str(key)! : one.uint(key, 0n));
  }
  return new QemuOpts(values);
}
