/**
 * A backing file name with a protocol prefix (path_has_protocol) is not made relative to the image:
 * a json: name is parsed into the backing node's options (parse_json_filename), beneath the header's
 * format; another protocol's name is something the model does not open.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { writeImage } from "../../src/engines/model/images/write-image.js";
import { ModelUnsupportedError } from "../../src/engines/model/model-unsupported.js";
import { type Rig, rig } from "./jobs/support.js";

describe("backing file names with a protocol prefix", () => {
  let r: Rig;
  beforeEach(async () => {
    r = await rig();
    await r.engine.createImage({ path: "b.raw", format: "raw", size: 1 << 20 });
  });
  afterEach(() => r.close());

  // Written as bdrv_img_create does with BDRV_O_NO_BACKING: the name is stored, never opened.
  const top = (backingFile: string) =>
    writeImage(`${r.dir}/top.qcow2`, { path: "top.qcow2", format: "qcow2", size: 1 << 16, backingFile, backingFormat: "raw" }, undefined, false);
  const addTop = () => r.engine.qmp("blockdev-add", { driver: "qcow2", "node-name": "top", file: { driver: "file", filename: `${r.dir}/top.qcow2` } });

  it("opens a json: name as the options it holds", async () => {
    const json = `json:{"driver": "raw", "offset": 4096, "file": {"driver": "file", "filename": "${r.dir}/b.raw"}}`;
    top(json);
    expect(await addTop()).toEqual({ return: {} });
    const nodes = (await r.ok("query-named-block-nodes")) as { "node-name": string; image: { "full-backing-filename"?: string }; file: string }[];
    expect(nodes.find((n) => n["node-name"] === "top")?.image["full-backing-filename"]).toBe(json);
    expect(nodes.some((n) => n.file === `json:{"offset": 4096, "driver": "raw", "file": {"driver": "file", "filename": "${r.dir}/b.raw"}}`)).toBe(true);
  });

  it("refuses a json: name that holds no object, as QEMU does", async () => {
    top("json:[1]");
    expect(await addTop()).toMatchObject({ error: { desc: "Could not open backing file: Invalid JSON object given" } });
  });

  it("does not open another protocol's name", async () => {
    top("nbd:localhost:10809");
    await expect(addTop()).rejects.toBeInstanceOf(ModelUnsupportedError);
  });
});
