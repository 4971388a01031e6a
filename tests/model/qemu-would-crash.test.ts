/**
 * Where QEMU 7.2 asserts, the model throws instead of inventing a reply: BlockLayer.execute lets a
 * QemuWouldCrashError out (it is not a QMP error), naming the command and QEMU's own message.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { defaultPerms } from "../../src/engines/model/child-perms.js";
import { blockdevAdd } from "../../src/engines/model/commands/blockdev-add.js";
import { blockdevReopen } from "../../src/engines/model/commands/blockdev-reopen.js";
import { attachEdge } from "../../src/engines/model/graph-ops.js";
import { LayerState } from "../../src/engines/model/layer-state.js";
import { refreshPerms } from "../../src/engines/model/perm-refresh.js";
import { QemuAbort, QemuWouldCrashError } from "../../src/engines/model/qemu-would-crash.js";
import { BDRV_CHILD_COW, BDRV_CHILD_DATA, BDRV_CHILD_FILTERED, BDRV_CHILD_METADATA, BDRV_CHILD_PRIMARY } from "../../src/engines/model/roles.js";
import { Transaction } from "../../src/engines/model/transaction.js";
import { exportNode, Fixture, makeImages } from "./support/fixture.js";

/** What `run` threw (the test fails if it returned). */
function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (e) {
    return e;
  }
  return expect.fail("expected a throw");
}

describe("through BlockLayer.execute", () => {
  let f: Fixture;
  beforeEach(() => {
    f = new Fixture();
  });
  afterEach(() => f.dispose());

  it("an empty blockdev-reopen list is QEMU's bs_queue assertion, not a QMP error", () => {
    const e = thrown(() => f.model.execute("blockdev-reopen", { options: [] }));
    expect(e).toBeInstanceOf(QemuWouldCrashError);
    // As Debian's qemu-storage-daemon 7.2.22 prints it (after its program name).
    expect(e).toMatchObject({
      command: "blockdev-reopen",
      signal: "SIGABRT",
      detail: "../../block.c:4390: bdrv_reopen_multiple: Assertion `bs_queue != NULL' failed.",
    });
  });

  it("an assertion deep in a permission refresh names the command it happened in", () => {
    f.ok("blockdev-add", { driver: "raw", "node-name": "r0", file: { driver: "null-co", "node-name": "n0" } });
    // No command gives an edge a role without filtered/COW/data/metadata; reach in to make one.
    const state = (f.model as unknown as { state: LayerState }).state;
    state.nodes.get("r0")!.children[0]!.role = BDRV_CHILD_PRIMARY;
    const e = thrown(() => exportNode(f, "e0", "r0", true));
    expect(e).toBeInstanceOf(QemuWouldCrashError);
    expect(e).toMatchObject({
      command: "block-export-add",
      signal: "SIGABRT",
      detail: "ERROR:../../block.c:2810:bdrv_default_perms: code should not be reached",
    });
    expect((e as Error).cause).toBeInstanceOf(QemuAbort);
  });
});

describe("bdrv_default_perms", () => {
  it("asserts on roles that mix filtered or COW with storage", () => {
    expect(() => defaultPerms(BDRV_CHILD_FILTERED | BDRV_CHILD_DATA, 0, 15, true)).toThrow(
      "../../block.c:2798: bdrv_default_perms: Assertion `!(role & (BDRV_CHILD_DATA | BDRV_CHILD_METADATA | BDRV_CHILD_COW))' failed.",
    );
    expect(() => defaultPerms(BDRV_CHILD_COW | BDRV_CHILD_METADATA, 0, 15, true)).toThrow(
      "../../block.c:2803: bdrv_default_perms: Assertion `!(role & (BDRV_CHILD_DATA | BDRV_CHILD_METADATA))' failed.",
    );
    expect(() => defaultPerms(0, 0, 15, true)).toThrow(QemuAbort);
  });
});

describe("below the command handlers", () => {
  let dir: string;
  let state: LayerState;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "blockcheck-crash-"));
    makeImages(dir);
    state = new LayerState(dir);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("a null 'file' in a reopen (the schema never lets one through) is bdrv_reopen_parse_file_or_backing's assertion", () => {
    blockdevAdd(state, { driver: "raw", "node-name": "r0", file: { driver: "file", filename: "raw.img", "node-name": "f0" } });
    const e = thrown(() => blockdevReopen(state, { options: [{ driver: "raw", "node-name": "r0", file: null }] }));
    expect(e).toBeInstanceOf(QemuAbort);
    expect((e as QemuAbort).detail).toBe("../../block.c:4566: bdrv_reopen_parse_file_or_backing: Assertion `is_backing' failed.");
  });

  it("a node whose driver has no child rules but has children fails bdrv_node_refresh_perm's assertion", () => {
    blockdevAdd(state, { driver: "null-co", "node-name": "n0" });
    blockdevAdd(state, { driver: "null-co", "node-name": "n1" });
    const tran = new Transaction();
    attachEdge({ kind: "node", node: state.nodes.get("n0")! }, state.nodes.get("n1")!, "extra", BDRV_CHILD_DATA, tran);
    const e = thrown(() => refreshPerms(state, [state.nodes.get("n0")!], tran));
    tran.finalize(e);
    expect((e as QemuAbort).detail).toBe("../../block.c:2511: bdrv_node_refresh_perm: Assertion `QLIST_EMPTY(&bs->children)' failed.");
  });
});
