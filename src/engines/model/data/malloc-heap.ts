/**
 * Whether memory QEMU allocates is zero, as far as glibc's malloc decides it: a block of at least
 * the mmap threshold gets fresh pages (zeros); a smaller one comes from the heap, whose freed chunks
 * hold what they held. The threshold starts at 128 KiB and, when an mmapped block is freed, rises to
 * that block's size (up to 32 MiB): after QEMU frees a qcow2 cache or a large qemu-io buffer, the
 * next cache of that size or less comes from the heap (glibc malloc.c: sysmalloc, _int_memalign,
 * and free's "dynamic threshold").
 *
 * It matters only where QEMU reads into such memory and a driver leaves the buffer alone (null-co
 * without read-zeroes): qcow2's caches, whose table_array qcow2_cache_create takes unfilled. What
 * the heap held is not followed; the model only knows when it is certain that it held nothing.
 * Large blocks that other parts of QEMU free (block jobs' buffers among them) raise the threshold
 * too: where the model does not count one exactly, it raises the threshold to its maximum, so that
 * it never takes heap memory for zeros.
 */

const SIZE_SZ = 8;
const MALLOC_ALIGN_MASK = 15;
const MINSIZE = 32;
const PAGE = 4096;
/** DEFAULT_MMAP_THRESHOLD_MIN. */
const DEFAULT_MMAP_THRESHOLD = 128 * 1024;
/** DEFAULT_MMAP_THRESHOLD_MAX on 64-bit hosts: a larger freed block leaves the threshold alone. */
const MMAP_THRESHOLD_MAX = 4 * 1024 * 1024 * 8;
/** bdrv_opt_mem_align of every node QEMU 7.2 opens here: the host page (file-posix, null-co, filters). */
const BLOCK_ALIGN = PAGE;

/** request2size. */
function request2size(bytes: number): number {
  return Math.max(MINSIZE, (bytes + SIZE_SZ + MALLOC_ALIGN_MASK) & ~MALLOC_ALIGN_MASK);
}

function pageAlign(bytes: number): number {
  return Math.ceil(bytes / PAGE) * PAGE;
}

/** A block one allocation took: its size as free() sees it, and whether it was mmapped. */
export interface HeapBlock {
  readonly chunkSize: number;
  readonly mmapped: boolean;
}

export class MallocHeap {
  /** mp_.mmap_threshold. */
  #threshold = DEFAULT_MMAP_THRESHOLD;

  /**
   * `qemu_blockalign` (posix_memalign at the page): _int_memalign asks _int_malloc for the size
   * plus the alignment and MINSIZE, and an mmapped chunk then starts where the pointer is aligned,
   * one page less 16 bytes into the mapping.
   */
  blockalign(bytes: number): HeapBlock {
    const nb = request2size(request2size(bytes) + BLOCK_ALIGN + MINSIZE);
    if (nb < this.#threshold) return { chunkSize: nb, mmapped: false };
    return { chunkSize: pageAlign(nb + SIZE_SZ) - (BLOCK_ALIGN - 2 * SIZE_SZ), mmapped: true };
  }

  /** `free` of a block: an mmapped one larger than the threshold raises it. */
  free(block: HeapBlock): void {
    if (block.mmapped && block.chunkSize > this.#threshold && block.chunkSize <= MMAP_THRESHOLD_MAX) this.#threshold = block.chunkSize;
  }

  /** A buffer `qemu_blockalign`ed for one request and freed after it (qemu-io's qemu_io_alloc). */
  blockalignAndFree(bytes: number): void {
    this.free(this.blockalign(bytes));
  }

  /** Blocks freed that the model does not size: from now on no block is taken for fresh pages below 32 MiB. */
  freedUnknown(): void {
    this.#threshold = MMAP_THRESHOLD_MAX;
  }
}
