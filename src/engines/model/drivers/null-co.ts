/**
 * `null-co` and `null-aio` (block/null.c): data sinks with no children; the size defaults to 1 GiB.
 * The two differ only in how QEMU calls them (coroutines or AIO callbacks) and in their names.
 */
import { Data } from "../data/data.js";
import { BDRV_BLOCK_OFFSET_VALID, BDRV_BLOCK_ZERO, BDRV_MAX_LENGTH } from "../data/request-flags.js";
import { OpaqueSlot } from "../opaque.js";
import { qemuErrorAbort, type QemuSourceLine } from "../qemu-would-crash.js";
import { fail } from "../qmp-failure.js";
import type { DriverDef } from "./driver.js";

/** Where Debian's 7.2.22 build reports parse_option_size's error (util/qemu-option.c). */
const PARSE_OPTION_SIZE: QemuSourceLine = { file: "../../util/qemu-option.c", line: 145, func: "parse_option_size" };


/** Options that still let the node name itself "null-co://" or "null-aio://" (`null_refresh_filename`). */
const PLAIN_KEYS = ["filename", "driver", "latency-ns"];

/** BDRVNullState, the part the model keeps: s->read_zeroes. */
const slot = new OpaqueSlot<{ readZeroes: boolean }>("null");

/** bdrv_null_co or bdrv_null_aio. */
function nullDriver(name: "null-co" | "null-aio"): DriverDef {
  return {
    name,
    protocol: true,
    isFilter: false,
    supportsBacking: false,
    fua: { write: "own" },
    mutableOpts: [],
    strongOpts: ["size", "read-zeroes"],

    /** `null_co_parse_filename` / `null_aio_parse_filename`: only "<name>://" is accepted, and not kept (no `bdrv_needs_filename`). */
    parseFilename(filename, options) {
      if (filename !== `${name}://`) fail(`The only allowed filename for this driver is '${name}://'`);
      delete options["filename"];
    },

    /**
     * `null_file_open`: its options are absorbed into QemuOpts with `&error_abort`, so a size that
     * `parse_option_size` refuses (a negative one) aborts QEMU; a latency that is negative as int64
     * (QAPI's uint64 lets -1 through) is an error.
     */
    open(ctx) {
      const size = ctx.options["size"];
      if ((typeof size === "number" || typeof size === "bigint") && size < 0) {
        qemuErrorAbort(PARSE_OPTION_SIZE, "Parameter 'size' expects a non-negative number below 2^64");
      }
      const latency = ctx.options["latency-ns"];
      if ((typeof latency === "number" || typeof latency === "bigint") && BigInt.asIntN(64, BigInt(latency)) < 0n) {
        fail("latency-ns is invalid");
      }
      const length = typeof size === "number" || typeof size === "bigint" ? BigInt(size) : 1n << 30n;
      // bdrv_open_driver → bdrv_refresh_total_sectors keeps null_getlength's length in whole sectors,
      // rounded up (a size of 12345 is 12800 to the block layer), and it must not pass BDRV_MAX_LENGTH.
      const sectors = ((length + 511n) / 512n) * 512n;
      if (sectors > BigInt(BDRV_MAX_LENGTH)) fail("Could not refresh total sector count: File too large");
      ctx.node.size = Number(sectors);
      // 7.2 reads zeros only when asked to; otherwise the caller's buffer stays as it was.
      const readZeroes = ctx.options["read-zeroes"];
      slot.set(ctx.node, { readZeroes: readZeroes === true || readZeroes === "on" });
    },

    /** `null_co_preadv`. */
    preadv(_host, node, _offset, bytes) {
      return slot.get(node).readZeroes ? Data.zeros(bytes) : Data.untouched(bytes);
    },

    /** `null_co_pwritev`: the data goes nowhere. */
    pwritev() {},

    /** `null_co_block_status`: nothing is its own data; with read-zeroes it is all zeros. */
    blockStatus(_host, node, _wantZero, offset, bytes) {
      return { status: BDRV_BLOCK_OFFSET_VALID | (slot.get(node).readZeroes ? BDRV_BLOCK_ZERO : 0), pnum: bytes, map: offset, file: node };
    },

    /** `null_reopen_prepare` accepts any reopen and takes no option. */
    reopenPrepare() {},

    /** `null_allocated_file_size`. */
    getAllocatedFileSize() {
      return 0;
    },

    /** `null_refresh_filename`: "<format_name>://". */
    refreshFilename(_node, { fullOpenOptionKeys }) {
      return fullOpenOptionKeys.every((k) => PLAIN_KEYS.includes(k)) ? `${name}://` : "";
    },
  };
}

export const nullCoDriver = nullDriver("null-co");
export const nullAioDriver = nullDriver("null-aio");
