/** `preallocate`: a filter that grabs write+resize on its file while its users have both. */
import { BLK_PERM_RESIZE, BLK_PERM_WRITE } from "../perms.js";
import type { DriverDef } from "./driver.js";
import { FILTER_DEFAULTS, FILTER_IO, filteredLength, openFilteredFile } from "./filter.js";

const WR = BLK_PERM_WRITE | BLK_PERM_RESIZE;

export const preallocateDriver: DriverDef = {
  ...FILTER_DEFAULTS,
  // preallocate_co_*: the guest sees its child's data; the model does not grow the file ahead of
  // writes (prealloc-size) as QEMU does, so only the file's length differs until the node closes.
  ...FILTER_IO,
  name: "preallocate",
  getLength: filteredLength,

  open(ctx) {
    openFilteredFile(ctx);
  },

  /** `preallocate_child_perm`: keep file_end/data_end valid by not sharing write or resize. */
  childPerm({ P, S }) {
    if ((P & WR) === WR) return [P | WR, S & ~WR];
    return [P, S];
  },

  /** `preallocate_reopen_prepare` takes prealloc-align and prealloc-size (the model keeps no preallocation state). */
  reopenPrepare(rs) {
    delete rs.options["prealloc-align"];
    delete rs.options["prealloc-size"];
  },
};
