/**
 * The qcow2 header a job writes when it changes an image's backing file (qcow2_update_header) is
 * byte for byte what QEMU writes: compared with `qemu-img rebase -u`, which goes through the same
 * qcow2_change_backing_file.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { readImageInfo } from "../../../src/engines/model/images/read-image.js";
import { updateQcow2BackingFile } from "../../../src/engines/model/images/update-header.js";
import { writeImage } from "../../../src/engines/model/images/write-image.js";
import { describeWithQemu } from "../../support/qemu.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), "blockcheck-header-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const at = (name: string) => path.join(dir, name);
const img = process.env.QEMU_IMG_PROG ?? "qemu-img";

describeWithQemu("updateQcow2BackingFile", () => {
  for (const [label, spec] of [
    ["an image without a backing file", {}],
    ["an image with a backing file and format", { backingFile: "mid.qcow2", backingFormat: "qcow2" as const }],
    ["an image with an external data file", { dataFile: "data.raw" }],
  ] as const) {
    it(`writes what qemu-img rebase -u writes, for ${label}`, () => {
      writeImage(at("data.raw"), { path: "data.raw", format: "raw", size: 1 << 20 });
      // qemu-img opens the backing file it is given.
      writeImage(at("mid.qcow2"), { path: "mid.qcow2", format: "qcow2", size: 1 << 20 });
      for (const name of ["model.qcow2", "qemu.qcow2"]) writeImage(at(name), { path: name, format: "qcow2", size: 1 << 20, ...spec });
      updateQcow2BackingFile(at("model.qcow2"), "/some/where/base.qcow2", "qcow2");
      execFileSync(img, ["rebase", "-u", "-b", "/some/where/base.qcow2", "-F", "qcow2", at("qemu.qcow2")], { stdio: "pipe", cwd: dir });
      expect(readFileSync(at("model.qcow2")).equals(readFileSync(at("qemu.qcow2")))).toBe(true);
    });
  }
});

it("drops the backing file and its format", () => {
  writeImage(at("b.qcow2"), { path: "b.qcow2", format: "qcow2", size: 1 << 20 });
  writeImage(at("t.qcow2"), { path: "t.qcow2", format: "qcow2", size: 1 << 20, backingFile: "b.qcow2", backingFormat: "qcow2" });
  updateQcow2BackingFile(at("t.qcow2"), null, null);
  expect(readImageInfo(at("t.qcow2"))).toEqual({ format: "qcow2", virtualSize: 1 << 20, size: 0x30008, clusterSize: 65536 });
});
