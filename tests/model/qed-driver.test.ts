/**
 * qed's need-check flag at open (bdrv_qed_do_open): on a writable file the image is checked and the
 * flag cleared on disk; on a read-only file the flag is cleared in memory only (the need-check timer
 * fires at the first drain and its header write fails); a read-only qed node on a writable file
 * node checks too, and writes its header through an edge without the write permission — QEMU 7.2's
 * assertion in bdrv_co_write_req_prepare (seen on qemu-storage-daemon 7.2.22).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ModelIoUnsupportedError } from "../../src/engines/model/data/io-error.js";
import { writeImage } from "../../src/engines/model/images/write-image.js";
import type { LayerState } from "../../src/engines/model/layer-state.js";
import { QemuWouldCrashError } from "../../src/engines/model/qemu-would-crash.js";
import { Fixture } from "./support/fixture.js";

/** QED_F_NEED_CHECK in the header's features field (byte 16, little-endian). */
const FEATURES = 16;
const NEED_CHECK = 0x02;

describe("qed need-check", () => {
  let f: Fixture;
  let path: string;
  beforeEach(() => {
    f = new Fixture();
    path = join(f.dir, "nc.qed");
    writeImage(path, { path: "nc.qed", format: "qed", size: 1 << 20 });
    const bytes = readFileSync(path);
    bytes[FEATURES] = NEED_CHECK;
    writeFileSync(path, bytes);
  });
  afterEach(() => f.dispose());

  /** The feature byte as the model's files hold it now. */
  const featureByte = () => (f.model as unknown as { state: LayerState }).state.hostFiles.get(path).read(FEATURES, 1).toBuffer()[0];
  const dirtyFlag = (name: string) =>
    (f.ok("query-named-block-nodes", { flat: true }) as { "node-name": string; image: { "dirty-flag"?: boolean } }[]).find((n) => n["node-name"] === name)?.image["dirty-flag"];

  it("checks a writable image and marks it clean on disk", () => {
    f.ok("blockdev-add", { driver: "qed", "node-name": "q0", file: { driver: "file", filename: path } });
    expect(featureByte()).toBe(0);
    expect(dirtyFlag("q0")).toBe(false);
  });

  it("leaves a read-only image's header alone but drops the flag in memory", () => {
    f.ok("blockdev-add", { driver: "qed", "node-name": "q0", "read-only": true, file: { driver: "file", filename: path } });
    expect(featureByte()).toBe(NEED_CHECK);
    expect(dirtyFlag("q0")).toBe(false);
  });

  it("aborts where QEMU does: a read-only qed node on a writable file node writes its header", () => {
    f.ok("blockdev-add", { driver: "file", "node-name": "f0", filename: path });
    let e: unknown;
    try {
      f.model.execute("blockdev-add", { driver: "qed", "node-name": "q0", "read-only": true, file: "f0" });
    } catch (err) {
      e = err;
    }
    expect(e).toBeInstanceOf(QemuWouldCrashError);
    expect(e).toMatchObject({
      command: "blockdev-add",
      signal: "SIGABRT",
      detail: "../../block/io.c:1997: bdrv_co_write_req_prepare: Assertion `child->perm & BLK_PERM_WRITE' failed.",
    });
  });

  it("does not make up qed_check's answer for an image with L2 tables", () => {
    const bytes = readFileSync(path);
    // The first L1 entry (L1 table at 64 KiB) points at an L2 table.
    bytes.writeBigUInt64LE(5n * 65536n, 65536);
    writeFileSync(path, bytes);
    expect(() => f.model.execute("blockdev-add", { driver: "qed", "node-name": "q0", file: { driver: "file", filename: path } })).toThrow(
      ModelIoUnsupportedError,
    );
  });
});
