/**
 * file-posix image locks as counts per file: how many nodes on the file hold each "perm" byte
 * (100+p) and each "unshared" byte (200+p). Counts make a node's check O(1) however many nodes open
 * the same image (a 100,000-deep chain may open one base image 100,000 times).
 */
import { BLK_PERM_ALL } from "./perms.js";

export class FileLockTable {
  private readonly held = [0, 0, 0, 0];
  private readonly unshared = [0, 0, 0, 0];

  /** Replace one node's locks: `from` → `to` (each a [perm, unshared] pair of bit masks). */
  move(from: readonly [number, number], to: readonly [number, number]): void {
    for (let i = 0; i < 4; i++) {
      const bit = 1 << i;
      this.held[i]! += (to[0] & bit ? 1 : 0) - (from[0] & bit ? 1 : 0);
      this.unshared[i]! += (to[1] & bit ? 1 : 0) - (from[1] & bit ? 1 : 0);
    }
  }

  /** Perms some node other than one holding `own` has locked as held / as unshared. */
  others(own: readonly [number, number]): { held: number; unshared: number } {
    let held = 0;
    let unshared = 0;
    for (let i = 0; i < 4; i++) {
      const bit = 1 << i;
      if (this.held[i]! - (own[0] & bit ? 1 : 0) > 0) held |= bit;
      if (this.unshared[i]! - (own[1] & bit ? 1 : 0) > 0) unshared |= bit;
    }
    return { held: held & BLK_PERM_ALL, unshared: unshared & BLK_PERM_ALL };
  }
}
