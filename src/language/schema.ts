/**
 * What the validator needs to know about QEMU's blockdev options: the QAPI schema of QEMU 7.2
 * (src/qapi/blockdev-schema.ts), behind an interface so tests can pass a small table.
 */
import { listDrivers, lookupOption, optionKeys, type OptionInfo } from "../qapi/blockdev-schema.js";
import { qmpSchema } from "../qapi/generated/qmp-schema.js";
import type { SchemaObject } from "../qapi/schema-types.js";

export type { OptionInfo };

/** The schema queries the validator makes. */
export interface SchemaView {
  /** Every blockdev driver name (BlockdevDriver). */
  listDrivers(): string[];
  /** Every option key of `driver`, flattened with dots; [] for an unknown driver. */
  optionKeys(driver: string): string[];
  /** What `driver`'s option `dottedKey` is, or undefined when QEMU has no such option. */
  lookupOption(driver: string, dottedKey: string): OptionInfo | undefined;
}

/** QEMU 7.2's blockdev-add schema. */
export const qapiSchema: SchemaView = { listDrivers, optionKeys, lookupOption };

/**
 * Image formats `image` can create (qemu-img create -f, and the model engine's image files), each
 * with the qemu-img `-o` creation options its `image` statement takes besides the statement's own
 * (IMAGE_OWN_OPTIONS), passed to qemu-img as written. Both engines take exactly these, so a key is
 * listed only once the model's writer for the format makes what qemu-img makes with it.
 */
export const IMAGE_FORMAT_OPTIONS: Readonly<Record<string, readonly string[]>> = {
  luks: ["key-secret", "cipher-alg", "hash-alg", "iter-time"],
  parallels: ["cluster_size"],
  qcow: [],
  qcow2: [],
  qed: ["cluster_size", "table_size"],
  raw: [],
  vdi: ["static", "preallocation"],
  vpc: ["subformat", "force_size"],
  vhdx: ["subformat", "block_size", "log_size", "block_state_zero"],
  vmdk: ["subformat", "adapter_type", "hwversion", "toolsversion", "compat6", "zeroed_grain"],
};

/** Image formats `image` can create. */
export const IMAGE_FORMATS: readonly string[] = Object.keys(IMAGE_FORMAT_OPTIONS);

/**
 * The statement's own options, taken for every format (qemu-img refuses them where the format has no
 * backing file or data file, and that error is the step's result): `-b`, `-F` and `-o data_file`.
 */
export const IMAGE_OWN_OPTIONS: readonly string[] = ["backing", "backing-fmt", "data-file"];

/**
 * Options of `export` statements: every member block-export-add has for an NBD export, in QEMU 7.2's
 * schema order (id, fixed-iothread, iothread, writable, writethrough, name, description, bitmaps,
 * allocation-depth), except `type` (always nbd) and `node-name` (the node is written after `export`).
 * `writable` may also be written alone.
 */
export const EXPORT_OPTIONS: readonly string[] = exportOptions();

/** Members of block-export-add for type nbd: its base members, then the nbd branch's. */
function exportOptions(): string[] {
  const types = qmpSchema.types;
  const args = types[qmpSchema.commands["block-export-add"]!.arg] as SchemaObject;
  const nbd = types[args.variants!["nbd"]!] as SchemaObject;
  return [...args.members, ...nbd.members].map((m) => m.name).filter((n) => n !== "type" && n !== "node-name");
}

/** QAPI BlockPermission names, in the order QEMU defines them. */
export const PERMISSIONS: readonly string[] = ["consistent-read", "write", "write-unchanged", "resize"];
