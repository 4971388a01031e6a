/**
 * qemu-img create's open of a backing file named by a json: pseudo-filename or a protocol
 * (bdrv_img_create). The model's image writer took every name for a path, so `json:{…}` and
 * `null-co://` were "No such file or directory" where qemu-img creates the image (found by porting
 * tests/backing-file-invalidation). A json: name whose file is missing or is not in the backing
 * format fails as qemu-img does; a name the model cannot open is its own refusal, never an answer.
 * Each case also runs on real QEMU when it is installed, where both transcripts must be the same.
 */
import { describe, expect, it } from "vitest";
import { ModelEngine } from "../../src/engines/model/model-engine.js";
import { QemuEngine } from "../../src/engines/qemu/qemu-engine.js";
import { describeWithQemu } from "../support/qemu.js";
import { inlineRunner } from "../support/run-inline.js";

const run = inlineRunner(30_000);

const json = (file: string, driver = "qcow2") => `json:{\\"driver\\": \\"${driver}\\", \\"file\\": {\\"driver\\": \\"file\\", \\"filename\\": \\"${file}\\"}}`;

function text(backing: string, format: string): string {
  return ['scenario "an image over a pseudo-filename"', "image 0.img qcow2 1M", "image r.raw raw 1M", `image 1.img qcow2 1M backing="${backing}" backing-fmt=${format}`, "add one: qcow2 file=(file filename=1.img)", "show node one", ""].join("\n");
}

const CASES: Record<string, { text: string; error?: string }> = {
  "json: naming a qcow2 image": { text: text(json("0.img"), "qcow2") },
  "null-co:// under raw": { text: text("null-co://", "raw") },
  // A protocol's name is not joined to the image's directory (228).
  "file: naming a qcow2 image": { text: text("file:0.img", "qcow2") },
  "json: naming a missing file": { text: text(json("9.img"), "qcow2"), error: "Could not open '9.img': No such file or directory\nCould not open backing image." },
  "json: naming a raw file as qcow2": { text: text(json("r.raw"), "qcow2"), error: "Image is not in qcow2 format\nCould not open backing image." },
};

// qemu-iotests 228 "Implicit backing file": a header naming its backing file with a `file:` prefix.
// The backing node's own filename has none, and bdrv_backing_overridden compares with that: the
// model compared with the header's name and called the node's filename a json: one.
const FILE_PREFIX = [
  'scenario "a header naming its backing file file:…"',
  "image base.img qcow2 64M",
  "image top.img qcow2 64M backing=base.img backing-fmt=qcow2",
  "add w: qcow2 file=(file filename=top.img)",
  'qmp change-backing-file {"image-node-name": "w", "device": "w", "backing-file": "file:$TEST_DIR/base.img"}',
  "del w",
  "add node0: qcow2 file=(file filename=top.img)",
  "show node node0 filename",
  "",
].join("\n");

describe("an image over a json: or protocol backing file name, on the model", () => {
  it("keeps a plain filename for a node whose header names its backing file file:…", async () => {
    const r = await run(FILE_PREFIX, new ModelEngine());
    expect(r.failures).toEqual([]);
    expect(r.transcript).toContain("show node node0 filename\n  filename=$TEST_DIR/top.img\n");
  });

  for (const [name, c] of Object.entries(CASES)) {
    it(name, async () => {
      const r = await run(c.text, new ModelEngine());
      if (c.error === undefined) {
        expect(r.failures).toEqual([]);
        expect(r.transcript).toContain("child -backing-> one/backing");
      } else {
        // The image is not made, so the statements after it fail too.
        expect(r.failures[0]!.message).toBe(`expected success, got error: ${c.error}`);
      }
    });
  }

  it("refuses a protocol it cannot open rather than say what qemu-img would", async () => {
    const r = await run(text("nbd://localhost/x", "raw"), new ModelEngine());
    expect(r.failures[0]!.message).toBe("expected success, got error: the model engine does not implement opening the backing file 'nbd://localhost/x' of a new image");
  });
});

describeWithQemu("an image over a json: or protocol backing file name, on QEMU", () => {
  it("a header naming its backing file file:…: the transcripts are the same", async () => {
    const qemu = await run(FILE_PREFIX, new QemuEngine());
    expect(qemu.failures).toEqual([]);
    expect((await run(FILE_PREFIX, new ModelEngine())).transcript).toBe(qemu.transcript);
  }, 60_000);

  for (const [name, c] of Object.entries(CASES)) {
    it(`${name}: the transcripts are the same`, async () => {
      const qemu = await run(c.text, new QemuEngine());
      const model = await run(c.text, new ModelEngine());
      expect(model.transcript).toBe(qemu.transcript);
      expect(model.failures.map((f) => f.message)).toEqual(qemu.failures.map((f) => f.message));
    }, 60_000);
  }
});
