/**
 * `blkverify` (block/blkverify.c): a protocol-level filter over `raw` (its file child, the
 * reference copy) that also reads `test` (a data child) and compares. It cannot be reopened. The
 * model follows its graph, permissions and names; the comparing data path is beyond it.
 */
import { bdrvDefaultPerms } from "../child-perms.js";
import { childNamed } from "../graph.js";
import { nodeLength } from "../node-length.js";
import { fail } from "../qmp-failure.js";
import { BDRV_CHILD_DATA, BDRV_CHILD_FILTERED, BDRV_CHILD_PRIMARY } from "../roles.js";
import type { DriverDef } from "./driver.js";

/** bs->exact_filename is a PATH_MAX buffer: a longer name is not reported at all. */
const PATH_MAX = 4096;

export const blkverifyDriver: DriverDef = {
  name: "blkverify",
  protocol: true,
  isFilter: true,
  supportsBacking: false,
  mutableOpts: [],

  /** `blkverify_open`: `raw` first (bdrv_open_file_child: a filter's file is FILTERED|PRIMARY), then `test`. */
  open(ctx) {
    ctx.openChild("raw", BDRV_CHILD_FILTERED | BDRV_CHILD_PRIMARY, false);
    const test = ctx.openChild("test", BDRV_CHILD_DATA, false)!;
    // bdrv_refresh_total_sectors → blkverify_getlength: the test file's length.
    ctx.node.size = nodeLength(test.bs);
  },

  childPerm: bdrvDefaultPerms,

  /** `blkverify_dirname`. */
  dirname() {
    return fail("Cannot generate a base directory for blkverify nodes");
  },

  /** `blkverify_refresh_filename`: "blkverify:RAW:TEST" when both children have exact names. */
  refreshFilename(node, { primaryExactFilename, exactFilenameOf }) {
    const test = childNamed(node, "test");
    const testExact = test ? exactFilenameOf(test.bs) : "";
    if (!primaryExactFilename || !testExact) return "";
    const name = `blkverify:${primaryExactFilename}:${testExact}`;
    return name.length >= PATH_MAX ? "" : name;
  },
};
