/**
 * The `qmp` escape hatch stays in the scratch directory: the checker refuses path arguments outside
 * it and unsafe commands without `require unsafe` (located, at check time); the runner checks again
 * just before sending, after `$TEST_DIR` is replaced, and runs unsafe commands only with
 * --allow-unsafe.
 */
import { mkdirSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { runOnEngine } from "../../src/runner/run-on-engine.js";
import { createScratch, removeScratch, type Scratch } from "../../src/runner/scratch.js";
import { fakeIo, problems } from "../language/helpers.js";
import { FakeEngine } from "./support/fake-engine.js";
import { scenario } from "./support/scenario.js";

const scratches: Scratch[] = [];
afterEach(async () => {
  await Promise.all(scratches.splice(0).map(removeScratch));
});

describe("checking qmp arguments against the scratch directory", () => {
  it("finds path arguments along the schema, wherever they sit", () => {
    expect(problems('qmp chardev-add {"id": "c", "backend": {"type": "file", "data": {"out": "/tmp/x"}}}')).toEqual([
      "1:17 absolute path '/tmp/x' escapes the scratch directory",
    ]);
    expect(problems('qmp nbd-server-start {"addr": {"type": "unix", "data": {"path": "/tmp/n.sock"}}}')).toEqual([
      "1:22 absolute path '/tmp/n.sock' escapes the scratch directory",
    ]);
    expect(problems('qmp blockdev-snapshot-sync {"node-name": "a", "snapshot-file": "$TEST_DIR/../s.qcow2"}')).toEqual([
      "1:28 path '../s.qcow2' escapes the scratch directory",
    ]);
    expect(problems('qmp drive-backup {"device": "a", "target": "/tmp/b.img", "sync": "full"}')).toEqual([
      "1:18 absolute path '/tmp/b.img' escapes the scratch directory",
    ]);
    expect(problems('qmp block-export-add {"type": "fuse", "id": "e", "node-name": "a", "mountpoint": "/mnt"}')).toEqual([
      "1:22 absolute path '/mnt' escapes the scratch directory",
    ]);
    expect(problems('qmp object-add {"qom-type": "secret", "id": "s", "file": "/etc/shadow"}')).toEqual([
      "1:16 absolute path '/etc/shadow' escapes the scratch directory",
    ]);
    expect(problems('qmp nbd-server-start {"addr": {"type": "unix", "data": {"path": "n.sock"}}}')).toEqual([
      "1:22 qmp addr.data.path 'n.sock' is not in the scratch directory",
    ]);
  });

  it("leaves names alone: a node called like a path, inet addresses, paths in the scratch directory", () => {
    expect(problems('qmp blockdev-backup {"device": "/a", "target": "/b", "sync": "full"}')).toEqual([]);
    expect(problems('qmp blockdev-add {"driver": "raw", "node-name": "r", "file": "/not-a-path"}')).toEqual([]);
    expect(problems('qmp nbd-server-start {"addr": {"type": "inet", "data": {"host": "127.0.0.1", "port": "0"}}}')).toEqual([]);
    expect(problems('qmp chardev-add {"id": "c", "backend": {"type": "file", "data": {"out": "$TEST_DIR/c.log"}}}')).toEqual([]);
  });

  it("refuses commands that run programs unless the scenario says 'require unsafe'", () => {
    expect(problems('require io\nqmp migrate {"uri": "exec:cat > x"}')).toEqual(["2:5 qmp 'migrate' is unsafe: a migration uri 'exec:…' runs a shell command"]);
    expect(problems('require io\nqmp human-monitor-command {"command-line": "info block"}')).toEqual([
      "2:5 qmp 'human-monitor-command' is unsafe: its command line is free text for HMP, which can run programs (migrate \"exec:…\") and open or create files anywhere",
    ]);
    expect(problems('require io\nrequire unsafe\nqmp migrate {"uri": "exec:cat > x"}')).toEqual([]);
    expect(problems('require io\nqmp migrate {"uri": "tcp:127.0.0.1:4444"}')).toEqual([]);
    expect(problems('require io\nqmp migrate {"uri": "unix:/tmp/m.sock"}')).toEqual(["2:13 absolute path '/tmp/m.sock' escapes the scratch directory"]);
    expect(problems("require unsafe now")).toEqual(["1:16 'require unsafe' takes no arguments"]);
  });
});

describe("the runner's check, after $TEST_DIR is replaced", () => {
  async function run(text: string, opts: { allowUnsafe?: boolean; before?: (dir: string) => void } = {}) {
    const [inst] = scenario(text, { validate: false });
    const scratch = await createScratch();
    scratches.push(scratch);
    opts.before?.(scratch.dir);
    const engine = new FakeEngine();
    const result = await runOnEngine(inst!, engine, scratch, { timeoutMs: 5_000, allowUnsafe: opts.allowUnsafe ?? false });
    return { result, sent: engine.sent.map((s) => s.command) };
  }

  it("refuses a path that leaves the scratch directory, before sending it, and says so in the transcript", async () => {
    const { result, sent } = await run('scenario "t"\nqmp chardev-add {"id": "c", "backend": {"type": "file", "data": {"out": "$TEST_DIR/../x"}}}\n');
    expect(sent).not.toContain("chardev-add");
    expect(result.failures).toEqual([
      expect.objectContaining({ kind: "error", location: "tests/scenarios/t.scn:2", message: "chardev-add argument backend.data.out '$TEST_DIR/../x' is outside the scratch directory" }),
    ]);
    expect(result.transcript).toContain("runner error: chardev-add argument backend.data.out '$TEST_DIR/../x' is outside the scratch directory");
  });

  it("follows symbolic links that already exist: a link out of the scratch directory is outside", async () => {
    const { result, sent } = await run('scenario "t"\nqmp blockdev-snapshot-sync {"node-name": "a", "snapshot-file": "$TEST_DIR/out/s.qcow2"}\n', {
      before: (dir) => symlinkSync(tmpdir(), path.join(dir, "out")),
    });
    expect(sent).not.toContain("blockdev-snapshot-sync");
    expect(result.failures[0]?.message).toBe("blockdev-snapshot-sync argument snapshot-file '$TEST_DIR/out/s.qcow2' is outside the scratch directory");
  });

  it("holds what other statements build to the same rule: an add's NBD socket path", async () => {
    const { result, sent } = await run('scenario "t"\nadd n: nbd server.type=unix server.path=/tmp/x.sock export=e\n');
    expect(sent).not.toContain("blockdev-add");
    expect(result.failures[0]?.message).toBe("blockdev-add argument server.path '/tmp/x.sock' is outside the scratch directory");
  });

  it("sends paths inside it", async () => {
    const { result, sent } = await run('scenario "t"\nqmp chardev-add {"id": "c", "backend": {"type": "file", "data": {"out": "$TEST_DIR/sub/c.log"}}}\n', {
      before: (dir) => mkdirSync(path.join(dir, "sub")),
    });
    // The fake engine does not know chardev-add; what matters is that it was sent.
    expect(result.failures.filter((f) => f.kind === "error")).toEqual([]);
    expect(sent).toContain("chardev-add");
  });

  it("skips a scenario that requires unsafe unless the run allows it, and then sends the command", async () => {
    const text = 'scenario "t"\nrequire unsafe\nqmp migrate {"uri": "exec:true"}\n';
    const refused = await run(text);
    expect(refused.result.status).toBe("skip");
    expect(refused.result.skipReason).toMatch(/^requires unsafe: .*; run with --allow-unsafe$/);
    expect(refused.sent).not.toContain("migrate");
    const allowed = await run(text, { allowUnsafe: true });
    expect(allowed.sent).toContain("migrate");
  });

  it("refuses an unsafe command in a scenario that does not require unsafe, even with --allow-unsafe", async () => {
    const { result, sent } = await run('scenario "t"\nqmp migrate {"uri": "exec:true"}\n', { allowUnsafe: true });
    expect(sent).not.toContain("migrate");
    expect(result.failures[0]?.message).toBe(
      "qmp 'migrate' is unsafe: a migration uri 'exec:…' runs a shell command; it runs only with 'require unsafe' and --allow-unsafe",
    );
  });

  it("blockcheck run takes --allow-unsafe", async () => {
    const t = fakeIo();
    expect(await main(["help", "run"], t.io)).toBe(0);
    expect(t.out()).toContain("--allow-unsafe");
  });
});
