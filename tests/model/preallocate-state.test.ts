/**
 * The preallocate filter's state (block/preallocate.c) on the model, and the file it leaves when
 * the engine stops. The same cases on real QEMU: tests/scenarios/io/preallocate-*.scn.
 */
import { statSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Rig, rig } from "./jobs/support.js";

const KiB = 1024;
const MiB = 1024 * KiB;

describe("preallocate", () => {
  let r: Rig;
  const fileLength = () => {
    r.engine.writeFilesOut();
    return statSync(join(r.dir, "d.qcow2")).size;
  };
  const lengthOf = async (node: string) => {
    const nodes = (await r.ok("query-named-block-nodes", { flat: true })) as Array<{ "node-name": string; image: { "virtual-size": number } }>;
    return nodes.find((n) => n["node-name"] === node)!.image["virtual-size"];
  };
  beforeEach(async () => {
    r = await rig(new Set(["io"]));
    await r.engine.createImage({ path: "d.qcow2", format: "qcow2", size: 16 * MiB });
    await r.ok("blockdev-add", {
      driver: "qcow2",
      "node-name": "q",
      file: { driver: "preallocate", "node-name": "p", "prealloc-size": 256 * KiB, "prealloc-align": 64 * KiB, file: { driver: "file", "node-name": "f", filename: "d.qcow2" } },
    });
  });
  afterEach(() => r.close());

  it("grows the file prealloc-size past a write beyond its end, aligned, and reports the end of the data", async () => {
    // 16M qcow2: 197120 bytes. The first write allocates an L2 table at 256K and a cluster at 320K.
    expect(await lengthOf("f")).toBe(197120);
    await r.engine.io("q", "write -P 0x11 0 4k");
    // The preallocation starts at the end of the file and goes 256K past the L2 table's end (320K).
    expect(await lengthOf("f")).toBe(576 * KiB);
    expect(await lengthOf("p")).toBe(384 * KiB);
    // Within the preallocation: the file stays, the data end moves.
    await r.engine.io("q", "write -P 0x11 300k 100k");
    expect(await lengthOf("f")).toBe(576 * KiB);
    expect(await lengthOf("p")).toBe(576 * KiB);
  });

  it("cuts the file back to the data when a reopen takes write away, and takes the file as it is when it comes back", async () => {
    await r.engine.io("q", "write -P 0x11 0 4k");
    await r.ok("blockdev-reopen", { options: [{ driver: "qcow2", "node-name": "q", "read-only": true, file: "p" }] });
    expect(await lengthOf("f")).toBe(384 * KiB);
    await r.ok("blockdev-reopen", { options: [{ driver: "qcow2", "node-name": "q", "read-only": false, file: "p" }] });
    // The new cluster (384K-448K) starts a preallocation from the file's end, 256K past the data.
    await r.engine.io("q", "write -P 0x22 1M 4k");
    expect(await lengthOf("p")).toBe(448 * KiB);
    expect(await lengthOf("f")).toBe(704 * KiB);
  });

  it("leaves the file at the end of the data when the engine stops, as QEMU's bdrv_close_all does", async () => {
    await r.engine.io("q", "write -P 0x11 0 4k");
    expect(fileLength()).toBe(576 * KiB);
    await r.engine.stop();
    expect(fileLength()).toBe(384 * KiB);
  });

  it("leaves it there under an export too: QEMU closes the exports before the nodes", async () => {
    await r.ok("nbd-server-start", { addr: { type: "unix", data: { path: join(r.dir, "nbd.sock") } } });
    await r.ok("block-export-add", { type: "nbd", id: "e0", "node-name": "q", writable: true });
    await r.engine.io("q", "write -P 0x11 0 4k");
    await r.engine.stop();
    expect(fileLength()).toBe(384 * KiB);
  });

  it("leaves it there at `quit` too", async () => {
    await r.engine.io("q", "write -P 0x11 0 4k");
    await r.ok("quit");
    expect(fileLength()).toBe(384 * KiB);
  });
});
