/**
 * What the validator needs to know about QEMU's blockdev options: the QAPI schema of QEMU 7.2
 * (src/qapi/blockdev-schema.ts), behind an interface so tests can pass a small table.
 */
import { listDrivers, lookupOption, optionKeys, type OptionInfo } from "../qapi/blockdev-schema.js";

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

/** Image formats `image` can create (qemu-img create -f, and the model engine's image files). */
export const IMAGE_FORMATS: readonly string[] = ["qcow2", "raw"];

/** Options of `image` statements. */
export const IMAGE_OPTIONS: readonly string[] = ["backing", "backing-fmt", "data-file"];

/** Options of `export` statements besides `writable` (block-export-add members the runner passes on). */
export const EXPORT_OPTIONS: readonly string[] = ["id", "name", "description", "writethrough"];

/** QAPI BlockPermission names, in the order QEMU defines them. */
export const PERMISSIONS: readonly string[] = ["consistent-read", "write", "write-unchanged", "resize"];
