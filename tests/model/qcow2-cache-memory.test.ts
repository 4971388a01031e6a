/**
 * qcow2 reads its L2 tables and refcount blocks into cache memory that qcow2_cache_create takes
 * unfilled. A qcow2 node reopened onto a null-co without read-zeroes reads them from a node that
 * leaves the buffer alone, so it goes on with whatever that memory held: fresh pages (zeros) when
 * glibc mmapped the cache, else what the heap held. Fuzz seed 73 found QEMU taking such an L2 entry
 * for a compressed cluster (a failed open had freed its caches first, which raised malloc's mmap
 * threshold, so the new L2 cache came from the heap) and failing the write with EIO, where the model
 * had read zeros and written. The model now answers where the memory is certain to be fresh pages,
 * and refuses the step where it is not. Each answered case runs on QEMU too when it is installed,
 * with a process of its own, and the transcripts must be the same.
 */
import { describe, expect, it } from "vitest";
import { MallocHeap } from "../../src/engines/model/data/malloc-heap.js";
import { ModelEngine } from "../../src/engines/model/model-engine.js";
import { QemuEngine } from "../../src/engines/qemu/qemu-engine.js";
import { describeWithQemu } from "../support/qemu.js";
import { inlineRunner } from "../support/run-inline.js";

const run = inlineRunner(30_000);

function scenario(lines: string[]): string {
  return ['scenario "qcow2 caches over a null-co"', "require io", ...lines, ""].join("\n");
}

const FAILED_OPEN = [
  "image base.qcow2 qcow2 1M",
  "image mid.qcow2 qcow2 1M backing=base.qcow2 backing-fmt=qcow2",
  "add n: null-co",
  "add q: qcow2 file=(file filename=base.qcow2)",
  // Its backing file is locked by q: the open fails after qcow2 made (and now frees) its caches.
  'add m: qcow2 file=(file filename=mid.qcow2) -> error "Could not open backing file: Failed to get shared \\"write\\" lock"',
];

/** Steps whose outcome QEMU 7.2 decides from fresh pages: the model must say what QEMU says. */
const ANSWERED = {
  // The 64 KiB buffer is heap memory; the threshold stays, the new caches are mmapped: zeros.
  "a small qemu-io write, then the reopen: the L2 table reads as zeros": scenario([
    "image a.qcow2 qcow2 1M",
    "add n: null-co",
    "add q: qcow2 file=(file filename=a.qcow2)",
    'io q "write -P 0xff 65536 65536"',
    "reopen q file=n",
    'io q "write -P 0xa5 524288 512"',
    'io q "map"',
  ]),
  // The failed open raised the threshold to its refcount cache's size: the new refcount cache is
  // that size again, so mmapped; the refcount block reads as zeros and the new L2 table would go
  // to offset 0.
  "after a failed open, a new L2 table: the refcount block reads as zeros": scenario([
    ...FAILED_OPEN,
    "reopen q file=n",
    'io q "write -P 0xa5 524288 512"         -> error "write failed: Input/output error"',
  ]),
};

/** Steps that read into heap memory: the model refuses them. */
const REFUSED = {
  // Fuzz seed 73's case: the new L2 cache is smaller than the refcount cache the failed open freed.
  "after a failed open, an L2 table": {
    lines: [...FAILED_OPEN, 'io q "write -P 0xff 65536 65536"', "reopen q file=n", 'io q "write -P 0xa5 524288 512"'],
    what: "L2 table",
  },
  // A 1 MiB qemu-io buffer is mmapped; its free raises the threshold past both caches.
  "after a large qemu-io read, a refcount block": {
    lines: ["image a.qcow2 qcow2 1G", "add n: null-co", "add q: qcow2 file=(file filename=a.qcow2)", 'io q "read 0 1M"', "reopen q file=n", 'io q "write 600M 512"'],
    what: "refcount block",
  },
  "after a job, an L2 table": {
    lines: [
      "require jobs",
      "image a.qcow2 qcow2 1M",
      "image t.qcow2 qcow2 1M",
      "add n: null-co",
      "add q: qcow2 file=(file filename=a.qcow2)",
      'io q "write 0 64k"',
      "add t: qcow2 file=(file filename=t.qcow2)",
      "job backup b q target=t sync=full",
      "wait b null",
      "del t",
      "reopen q file=n",
      'io q "read 0 512"',
    ],
    what: "L2 table",
  },
};

describe("qcow2 cache memory over a null-co, on the model", () => {
  it("answers where the cache memory is fresh pages", async () => {
    const small = await run(ANSWERED["a small qemu-io write, then the reopen: the L2 table reads as zeros"], new ModelEngine());
    expect(small.failures.filter((f) => f.kind !== "missing-golden")).toEqual([]);
    expect(small.transcript).toContain("wrote 512/512 bytes at offset 524288");
    const failedOpen = await run(ANSWERED["after a failed open, a new L2 table: the refcount block reads as zeros"], new ModelEngine());
    expect(failedOpen.failures.filter((f) => f.kind !== "missing-golden")).toEqual([]);
    expect(failedOpen.transcript).toContain("qcow2: Marking image as corrupt: Preventing invalid allocation of L2 table at offset 0");
  });

  for (const [name, { lines, what }] of Object.entries(REFUSED)) {
    it(`refuses ${name}`, async () => {
      const text = scenario(lines);
      const r = await run(text, new ModelEngine());
      expect(r.failures.filter((f) => f.kind !== "missing-golden")).toMatchObject([
        {
          message: `E_MODEL_IO_UNSUPPORTED: the model engine does not model a qcow2 ${what} read from a node that leaves the buffer uninitialised into cache memory QEMU 7.2 took from its heap`,
          // The last step.
          location: `tests/scenarios/t.scn:${text.trimEnd().split("\n").length}`,
        },
      ]);
    });
  }
});

describe("malloc's mmap threshold", () => {
  it("mmaps a 128 KiB block at first, and not once a larger mmapped block was freed", () => {
    const heap = new MallocHeap();
    expect(heap.blockalign(128 * 1024).mmapped).toBe(true);
    expect(heap.blockalign(64 * 1024).mmapped).toBe(false);
    const refcountCache = heap.blockalign(256 * 1024);
    heap.free(heap.blockalign(128 * 1024));
    // The same size again: its request is a little larger than the freed chunk (the alignment's lead).
    expect(heap.blockalign(128 * 1024).mmapped).toBe(true);
    heap.free(refcountCache);
    expect(heap.blockalign(128 * 1024).mmapped).toBe(false);
    expect(heap.blockalign(256 * 1024).mmapped).toBe(true);
    heap.free(heap.blockalign(64 * 1024));
    expect(heap.blockalign(256 * 1024).mmapped).toBe(true);
    heap.freedUnknown();
    expect(heap.blockalign(16 * 1024 * 1024).mmapped).toBe(false);
    expect(heap.blockalign(32 * 1024 * 1024).mmapped).toBe(true);
  });
});

describeWithQemu("qcow2 cache memory over a null-co, on QEMU", () => {
  for (const [name, text] of Object.entries(ANSWERED)) {
    it(`${name}: the transcripts are the same`, { timeout: 60_000 }, async () => {
      const qemu = await run(text, new QemuEngine());
      expect((await run(text, new ModelEngine())).transcript).toBe(qemu.transcript);
    });
  }
});
