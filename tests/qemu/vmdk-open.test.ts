/**
 * vmdk_open on files qemu-img never makes — hand-written descriptors and patched sparse headers —
 * on the model and on real qemu-storage-daemon 7.2: the same replies, errors and queries. Each case
 * writes its files into the scratch directory, then adds a vmdk node over them.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { expect, it } from "vitest";
import { createEngine } from "../../src/engines/factory/create.js";
import { imageLayout } from "../../src/engines/model/images/write-image.js";
import { firstDifference, firstRawDifference, formatDifference } from "../differential/compare.js";
import { qemuEngine, withEngine } from "../differential/engines.js";
import { runSteps } from "../differential/run-steps.js";
import { qmp, type Json, type RecordedStep, type Step } from "../differential/steps.js";
import { describeWithQemu } from "../support/qemu.js";

/** A descriptor file's text around its extent lines. */
function descriptor(extents: string, opts: { type?: string; cid?: string; extra?: string } = {}): string {
  return [
    "# Disk DescriptorFile",
    "version=1",
    ...(opts.cid === undefined ? ["CID=1234abcd"] : opts.cid === "" ? [] : [`CID=${opts.cid}`]),
    "parentCID=ffffffff",
    `createType="${opts.type ?? "monolithicFlat"}"`,
    ...(opts.extra ? [opts.extra] : []),
    "",
    "# Extent description",
    extents,
    "",
  ].join("\n");
}

/** A monolithic sparse image of `size` as qemu-img makes it, with `patch` applied to its header. */
function sparse(size: number, patch: (b: Buffer) => void = () => {}): Buffer {
  const layout = imageLayout({ path: "x.vmdk", format: "vmdk", size });
  const b = Buffer.alloc(layout.length);
  for (const c of layout.chunks) c.bytes.copy(b, c.offset);
  patch(b);
  return b;
}

/** A VMDK3 ("COWD") extent: header, then an L1 directory of zeros. */
function cowd(sectors: number, granularity: number): Buffer {
  const b = Buffer.alloc(8192);
  b.write("COWD", 0, "latin1");
  b.writeUInt32LE(1, 4); // version
  b.writeUInt32LE(3, 8); // flags
  b.writeUInt32LE(sectors, 12);
  b.writeUInt32LE(granularity, 16);
  b.writeUInt32LE(4, 20); // l1dir_offset (sectors)
  b.writeUInt32LE(Math.ceil(sectors / (granularity * 4096)), 24); // l1dir_size
  return b;
}

/** An seSparse extent: const header, volatile header at sector 1, a grain directory at sector 2. */
function seSparse(patch: (b: Buffer) => void = () => {}): Buffer {
  const b = Buffer.alloc(8192);
  const q = (i: number, v: bigint) => b.writeBigUInt64LE(v, i * 8);
  q(0, 0xcafebaben);
  q(1, 0x0000000200000001n);
  q(2, 4096n); // capacity
  q(3, 8n); // grain size
  q(4, 64n); // grain table size
  q(10, 1n); // volatile header offset
  q(11, 1n);
  q(16, 2n); // grain directory offset
  q(17, 1n); // grain directory size (sectors)
  b.writeBigUInt64LE(0xcafecafen, 512);
  patch(b);
  return b;
}

const flatData = Buffer.alloc(1 << 20);

interface Case {
  name: string;
  files: Record<string, string | Buffer>;
  /** The vmdk node's file child (default: a file node on d.vmdk). */
  file?: Json;
  readOnly?: boolean;
  autoReadOnly?: boolean;
  /** Ask QEMU no queries (vmdk_get_info asserts an image has extents). */
  noQuery?: boolean;
}

const CASES: Case[] = [
  { name: "flat line without its offset", files: { "d.vmdk": descriptor('RW 2048 FLAT "e.img"'), "e.img": flatData } },
  { name: "VMFS line with an offset", files: { "d.vmdk": descriptor('RW 2048 VMFS "e.img" 0', { type: "vmfs" }), "e.img": flatData } },
  { name: "CRLF line endings", files: { "d.vmdk": descriptor('RW 2048 FLAT "e.img"\r\nRW 1 FLAT "e.img" 0\r').replaceAll("\n", "\r\n"), "e.img": flatData } },
  { name: "unknown create type", files: { "d.vmdk": descriptor('RW 2048 FLAT "e.img" 0', { type: "fancySparse" }) } },
  { name: "missing extent file", files: { "d.vmdk": descriptor('RW 2048 FLAT "missing.img" 0') } },
  { name: "two flat extents, one at an offset", files: { "d.vmdk": descriptor('RW 1024 FLAT "e.img" 0\nRW 1024 FLAT "e.img" 1024\nRO 16 FLAT "e.img" 0\nRW 0 FLAT "e.img" 0'), "e.img": flatData } },
  { name: "an extent named by an absolute path", files: { "d.vmdk": descriptor('RW 2048 FLAT "$ABS/e.img" 0'), "e.img": flatData } },
  { name: "unknown extent types are skipped", files: { "d.vmdk": descriptor('RW 2048 WEIRD "e.img"\nRW 2048 FLAT "e.img" 0'), "e.img": flatData } },
  { name: "no CID", files: { "d.vmdk": descriptor('RW 2048 FLAT "e.img" 0', { cid: "" }), "e.img": flatData } },
  { name: "a CID in 0x form", files: { "d.vmdk": descriptor('RW 2048 FLAT "e.img" 0', { cid: "0xfeed" }), "e.img": flatData } },
  { name: "unterminated parentFileNameHint", files: { "d.vmdk": descriptor('RW 2048 FLAT "e.img" 0', { extra: 'parentFileNameHint="base.vmdk' }), "e.img": flatData } },
  {
    name: "parentFileNameHint opens the backing file beside the image",
    files: { "d.vmdk": descriptor('RW 2048 SPARSE "s.vmdk"', { type: "twoGbMaxExtentSparse", extra: 'parentFileNameHint="base.vmdk"' }), "s.vmdk": sparse(1 << 20), "base.vmdk": sparse(1 << 20) },
  },
  { name: "sparse extent on a raw file", files: { "d.vmdk": descriptor('RW 2048 SPARSE "e.img"', { type: "twoGbMaxExtentSparse" }), "e.img": flatData } },
  { name: "sparse extent on a tiny file", files: { "d.vmdk": descriptor('RW 2048 SPARSE "e.img"', { type: "twoGbMaxExtentSparse" }), "e.img": "ab" } },
  { name: "VMDK3 sparse extent", files: { "d.vmdk": descriptor('RW 8192 VMFSSPARSE "c.vmdk"', { type: "vmfsSparse" }), "c.vmdk": cowd(8192, 16) } },
  { name: "VMDK3 monolithic", files: { "d.vmdk": Buffer.concat([cowd(4096, 8), Buffer.from(descriptor(""))]) } },
  { name: "version 4", files: { "d.vmdk": sparse(1 << 20, (b) => b.writeUInt32LE(4, 4)) } },
  { name: "version 3 read-write", files: { "d.vmdk": sparse(1 << 20, (b) => b.writeUInt32LE(3, 4)) } },
  { name: "version 3 read-only", files: { "d.vmdk": sparse(1 << 20, (b) => b.writeUInt32LE(3, 4)) }, readOnly: true },
  { name: "L2 tables too big", files: { "d.vmdk": sparse(1 << 20, (b) => b.writeUInt32LE(1024, 4 + 40)) } },
  { name: "granularity 0", files: { "d.vmdk": sparse(1 << 20, (b) => b.writeBigUInt64LE(0n, 4 + 16)) } },
  { name: "granularity too large", files: { "d.vmdk": sparse(1 << 20, (b) => (b.writeBigUInt64LE(0x400000n, 4 + 16), b.writeUInt32LE(1, 4 + 40))) } },
  { name: "truncated before the first grain", files: { "d.vmdk": sparse(1 << 20, (b) => b.writeBigUInt64LE(4096n, 4 + 60)) } },
  { name: "grain directory at the end, no footer", files: { "d.vmdk": sparse(1 << 20, (b) => b.writeBigUInt64LE(0xffffffffffffffffn, 4 + 52)) } },
  { name: "descriptor embedded with capacity 0", files: { "d.vmdk": sparse(0) } },
  {
    name: "relative extents below a node without a directory",
    files: { "d.vmdk": descriptor('RW 2048 FLAT "e.img" 0'), "e.img": flatData },
    file: { driver: "blkdebug", image: { driver: "file", filename: "$TEST_DIR/d.vmdk" } },
  },
  { name: "a descriptor with no extents", files: { "d.vmdk": descriptor("") }, noQuery: true },
  { name: "seSparse read-write", files: { "d.vmdk": descriptor('RW 4096 SESPARSE "se.vmdk"', { type: "seSparse" }), "se.vmdk": seSparse() } },
  { name: "seSparse read-only", files: { "d.vmdk": descriptor('RW 4096 SESPARSE "se.vmdk"', { type: "seSparse" }), "se.vmdk": seSparse() }, readOnly: true },
  { name: "seSparse with auto-read-only", files: { "d.vmdk": descriptor('RW 4096 SESPARSE "se.vmdk"', { type: "seSparse" }), "se.vmdk": seSparse() }, autoReadOnly: true },
  { name: "seSparse bad magic", files: { "d.vmdk": descriptor('RW 4096 SESPARSE "se.vmdk"', { type: "seSparse" }), "se.vmdk": seSparse((b) => (b.writeBigUInt64LE(1n, 0), b.writeBigUInt64LE(5n, 40))) }, readOnly: true },
  { name: "seSparse reserved bits", files: { "d.vmdk": descriptor('RW 4096 SESPARSE "se.vmdk"', { type: "seSparse" }), "se.vmdk": seSparse((b) => b.writeBigUInt64LE(7n, 64)) }, readOnly: true },
  { name: "seSparse grain size", files: { "d.vmdk": descriptor('RW 4096 SESPARSE "se.vmdk"', { type: "seSparse" }), "se.vmdk": seSparse((b) => b.writeBigUInt64LE(16n, 24)) }, readOnly: true },
  { name: "seSparse dirty journal", files: { "d.vmdk": descriptor('RW 4096 SESPARSE "se.vmdk"', { type: "seSparse" }), "se.vmdk": seSparse((b) => b.writeBigUInt64LE(1n, 512 + 24)) }, readOnly: true },
  { name: "seSparse volatile padding", files: { "d.vmdk": descriptor('RW 4096 SESPARSE "se.vmdk"', { type: "seSparse" }), "se.vmdk": seSparse((b) => (b[1000] = 1)) }, readOnly: true },
];

function steps(c: Case): Step[] {
  const add: { [key: string]: Json } = { driver: "vmdk", "node-name": "v", file: c.file ?? { driver: "file", filename: "$TEST_DIR/d.vmdk" } };
  if (c.readOnly) add["read-only"] = true;
  if (c.autoReadOnly) add["auto-read-only"] = true;
  const queries = c.noQuery ? [] : [qmp("query-named-block-nodes", { flat: true }), qmp("x-debug-query-block-graph")];
  return [qmp("blockdev-add", add), ...queries, qmp("blockdev-del", { "node-name": "v" })];
}

async function run(engine: "model" | "qemu", c: Case): Promise<RecordedStep[]> {
  return withEngine(
    () => (engine === "qemu" ? qemuEngine() : createEngine("model")),
    async (e, workdir) => {
      for (const [name, content] of Object.entries(c.files)) {
        writeFileSync(path.join(workdir, name), typeof content === "string" ? content.replaceAll("$ABS", workdir) : content);
      }
      return runSteps(e, workdir, steps(c));
    },
  );
}

it("has cases for both engines", () => {
  expect(CASES.length).toBeGreaterThan(20);
});

describeWithQemu("vmdk_open on hand-made files: model and QEMU 7.2 agree", () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const qemu = await run("qemu", c);
      const model = await run("model", c);
      const diff = firstDifference(qemu, model) ?? firstRawDifference(qemu, model, /"actual-size": ?\d+/g);
      expect(diff && formatDifference(diff)).toBeUndefined();
    });
  }
});
