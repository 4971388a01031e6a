/** file-posix (`file`): a host file, no children; image locking across nodes on the same file. */
import { ImageReadError } from "../images/image-errors.js";
import { readImage } from "../images/read-image.js";
import type { BdsNode } from "../graph.js";
import { fail } from "../qmp-failure.js";
import { PERM_ALL, permMessageName } from "../perms.js";
import type { DriverDef } from "./driver.js";

/** Driver state of a file node. */
export interface FileState {
  /** The filename as given (QEMU shows it unchanged). */
  filename: string;
  absPath: string;
  locking: boolean;
  /** Perms whose "held" lock bytes (100+p) this node holds. */
  heldPerm: number;
  /** Perms whose "unshared" lock bytes (200+p) this node holds. */
  heldUnshared: number;
  allocated: number;
}

/** The file state of a node known to be a file node. */
export function fileState(node: BdsNode): FileState {
  return node.state as unknown as FileState;
}

const ERRNO_TEXT: Record<string, string> = {
  ENOENT: "No such file or directory",
  EACCES: "Permission denied",
  EISDIR: "Is a directory",
  ENOTDIR: "Not a directory",
};

export const fileDriver: DriverDef = {
  name: "file",
  protocol: true,
  isFilter: false,
  isFormat: false,
  supportsBacking: false,
  supportsReopen: true,
  mutableOpts: ["x-check-cache-dropped"],
  reopenOpts: ["drop-cache", "x-check-cache-dropped"],

  open(ctx) {
    const filename = String(ctx.options["filename"]);
    const absPath = ctx.resolvePath(filename);
    let info;
    try {
      info = readImage(absPath);
    } catch (e) {
      if (!(e instanceof ImageReadError)) throw e;
      fail(`Could not open '${filename}': ${ERRNO_TEXT[e.errno] ?? "Input/output error"}`);
    }
    const state: FileState = {
      filename,
      absPath,
      locking: ctx.options["locking"] !== "off",
      heldPerm: 0,
      heldUnshared: 0,
      allocated: info.allocated,
    };
    ctx.node.state = state as unknown as Record<string, unknown>;
    // bdrv_getlength is total_sectors * 512: the size rounded up to a sector.
    ctx.node.size = Math.ceil(info.fileSize / 512) * 512;
  },

  /**
   * `raw_check_lock_bytes`: OFD locks conflict between different nodes on one file even inside one
   * process. Wanted perms are tested against others' "unshared" bytes, then our unshared perms
   * against others' "held" bytes, each in ascending bit order.
   */
  checkPerm(node, P, S, locks) {
    const st = fileState(node);
    if (!st.locking || !locks) return;
    const { held: othersHeld, unshared: othersUnshared } = locks.others([st.heldPerm, st.heldUnshared]);
    for (let i = 0; i < 4; i++) {
      if (P & (1 << i) && othersUnshared & (1 << i)) fail(`Failed to get "${permMessageName(i)}" lock`);
    }
    const unshared = ~S & PERM_ALL;
    for (let i = 0; i < 4; i++) {
      if (unshared & (1 << i) && othersHeld & (1 << i)) fail(`Failed to get shared "${permMessageName(i)}" lock`);
    }
  },
};
