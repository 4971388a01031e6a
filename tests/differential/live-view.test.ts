/**
 * The generator's view of the reference engine names files as `$TEST_DIR/…`: a reopen it builds from
 * a file node's filename must name the same file on the replaying engine, whose scratch directory
 * is another one (QEMU's absolute path made the model answer "Cannot change the option 'filename'").
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { expect, it } from "vitest";
import { createEngine } from "../../src/engines/factory/create.js";
import { withEngine } from "./engines.js";
import { liveView } from "./live-view.js";

it("gives file nodes' filenames relative to the scratch directory", async () => {
  await withEngine(
    () => createEngine("model"),
    async (engine, workdir) => {
      writeFileSync(path.join(workdir, "raw.img"), Buffer.alloc(65536));
      const reply = await engine.qmp("blockdev-add", { driver: "file", "node-name": "f0", filename: path.join(workdir, "raw.img") });
      expect(reply).toEqual({ return: {} });
      const view = await liveView(engine, workdir);
      expect(view.nodes.find((n) => n.name === "f0")?.file).toBe("$TEST_DIR/raw.img");
    },
  );
});
