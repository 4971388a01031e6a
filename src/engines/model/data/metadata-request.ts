/**
 * Which requests a format driver sends for its own metadata (qcow2's L1, L2 and refcount tables,
 * its header, its bitmaps) rather than for guest data. blkdebug injects errors into the others
 * only: what qcow2 does when a metadata read or write fails (a table it cannot load or write back,
 * a half-made allocation) the model does not follow, and says so rather than guess.
 */
let depth = 0;

/** Run `request`, a metadata request of a format driver. */
export function metadataRequest<T>(request: () => T): T {
  depth++;
  try {
    return request();
  } finally {
    depth--;
  }
}

/** Whether a format's metadata request is under way. */
export function inMetadataRequest(): boolean {
  return depth > 0;
}

let cachedDepth = 0;

/**
 * Run `read`, a read the model makes again of what QEMU keeps in memory (a table in a format's
 * cache): in QEMU no request goes below, so no blkdebug rule sees it.
 */
export function cachedRead<T>(read: () => T): T {
  cachedDepth++;
  try {
    return read();
  } finally {
    cachedDepth--;
  }
}

/** Whether a cachedRead is under way. */
export function inCachedRead(): boolean {
  return cachedDepth > 0;
}
