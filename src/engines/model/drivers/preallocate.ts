/** `preallocate`: a filter that grabs write+resize on its file while its users have both. */
import { requestAlignment } from "../data/block-io.js";
import { childNamed, type BdsNode, type Flat } from "../graph.js";
import { BLK_PERM_RESIZE, BLK_PERM_WRITE } from "../perms.js";
import { fail } from "../qmp-failure.js";
import type { DriverDef } from "./driver.js";
import { FILTER_DEFAULTS, FILTER_IO, filteredLength, openFilteredFile } from "./filter.js";

const WR = BLK_PERM_WRITE | BLK_PERM_RESIZE;

/** `preallocate_absorb_opts`: prealloc-align (1 MiB by default) must suit sectors and the file. */
function absorbOpts(options: Flat, file: BdsNode): void {
  const value = options["prealloc-align"];
  const align = value === undefined ? 1 << 20 : Number(value);
  if (align % 512 !== 0) fail("prealloc-align parameter of preallocate filter is not aligned to 512");
  const fileAlign = requestAlignment(file);
  if (align % fileAlign !== 0) {
    fail(`prealloc-align parameter of preallocate filter is not aligned to underlying node request alignment (${fileAlign})`);
  }
}

export const preallocateDriver: DriverDef = {
  ...FILTER_DEFAULTS,
  // preallocate_co_*: the guest sees its child's data; the model does not grow the file ahead of
  // writes (prealloc-size) as QEMU does, so only the file's length differs until the node closes.
  ...FILTER_IO,
  name: "preallocate",

  /** `.bdrv_co_flush`: the file, whatever this node may do with it. */
  flushVia(node) {
    const file = childNamed(node, "file");
    return file ? [file.bs] : [];
  },
  getLength: filteredLength,

  open(ctx) {
    absorbOpts(ctx.options, openFilteredFile(ctx).bs);
  },

  /** `preallocate_child_perm`: keep file_end/data_end valid by not sharing write or resize. */
  childPerm({ P, S }) {
    if ((P & WR) === WR) return [P | WR, S & ~WR];
    return [P, S];
  },

  /** `preallocate_reopen_prepare` takes prealloc-align and prealloc-size (the model keeps no preallocation state). */
  reopenPrepare(rs) {
    const file = rs.bs.children.find((c) => c.name === "file");
    if (file) absorbOpts(rs.options, file.bs);
    delete rs.options["prealloc-align"];
    delete rs.options["prealloc-size"];
  },
};
