import { describe, expect, it, afterEach } from "vitest";
import { runOnEngine } from "../../src/runner/run-on-engine.js";
import { createScratch, removeScratch, type Scratch } from "../../src/runner/scratch.js";
import { FakeEngine } from "./support/fake-engine.js";
import { scenario } from "./support/scenario.js";

const scratches: Scratch[] = [];
afterEach(async () => {
  await Promise.all(scratches.splice(0).map(removeScratch));
});

async function run(text: string, engine = new FakeEngine(), timeoutMs = 5_000, validate = true) {
  const scratch = await createScratch();
  scratches.push(scratch);
  const result = await runOnEngine(scenario(text, { validate })[0]!, engine, scratch, { timeoutMs });
  const sent = engine.sent.filter((s) => !s.command.startsWith("query") && !s.command.startsWith("x-debug"));
  return { result, engine, sent, dir: scratch.dir };
}

describe("add", () => {
  it("builds nested blockdev-add JSON: inline children, dotted keys, scratch paths, typed values", async () => {
    const { sent, dir, result } = await run(
      'scenario "t"\nadd top: qcow2 file=(tf: file filename=top.qcow2 aio=threads) cache.direct=on read-only=off\n',
    );
    expect(result.failures).toEqual([]);
    expect(sent).toEqual([
      {
        command: "blockdev-add",
        args: {
          driver: "qcow2",
          "node-name": "top",
          file: { driver: "file", "node-name": "tf", filename: `${dir}/top.qcow2`, aio: "threads" },
          cache: { direct: true },
          "read-only": false,
        },
      },
    ]);
  });

  it("resolves a node path in a child position to the node's current auto name", async () => {
    const { sent } = await run('scenario "t"\nadd r0: raw file=(file filename=a.raw)\nadd r1: raw file=r0/file\n');
    expect(sent[1]!.args!.file).toMatch(/^#block\d+$/);
  });
});

describe("reopen option tracking (245's reopen())", () => {
  it("sends the tracked options with the change applied, and keeps them only after success", async () => {
    const engine = new FakeEngine();
    engine.scripted.set("blockdev-reopen", [
      { return: {} },
      { error: { class: "GenericError", desc: "nope" } },
      { return: {} },
    ]);
    const { sent, dir } = await run(
      [
        'scenario "t"',
        "add top: qcow2 file=(file filename=top.qcow2)",
        "reopen top read-only=on file.aio=threads",
        'reopen top backing=null -> error "nope"',
        "reopen top cache.direct=on",
      ].join("\n"),
      engine,
    );
    const reopens = sent.filter((s) => s.command === "blockdev-reopen").map((s) => s.args!.options);
    const file = { driver: "file", filename: `${dir}/top.qcow2` };
    expect(reopens).toEqual([
      [{ driver: "qcow2", "node-name": "top", file: { ...file, aio: "threads" }, "read-only": true }],
      [{ driver: "qcow2", "node-name": "top", file: { ...file, aio: "threads" }, "read-only": true, backing: null }],
      [{ driver: "qcow2", "node-name": "top", file: { ...file, aio: "threads" }, "read-only": true, cache: { direct: true } }],
    ]);
  });

  it("sends all entries of reopen { … } in one blockdev-reopen, and the raw form exactly as written", async () => {
    const { sent } = await run(
      [
        'scenario "t"',
        "add f0: file filename=a.raw",
        "add r0: raw file=f0",
        "reopen {",
        "  f0 read-only=on",
        "  r0 read-only=on",
        "}",
        "reopen raw r0 file=f0",
      ].join("\n"),
    );
    const reopens = sent.filter((s) => s.command === "blockdev-reopen").map((s) => s.args!.options as object[]);
    expect(reopens).toHaveLength(2);
    expect(reopens[0]!.map((o) => (o as { "node-name": string })["node-name"])).toEqual(["f0", "r0"]);
    expect(reopens[1]).toEqual([{ "node-name": "r0", file: "f0" }]);
  });

  it("starts an implicit node from its driver and current name", async () => {
    const { sent } = await run('scenario "t"\nadd r0: raw file=(file filename=a.raw)\nreopen r0/file read-only=on\n');
    const [opts] = sent.find((s) => s.command === "blockdev-reopen")!.args!.options as Array<Record<string, unknown>>;
    expect(opts).toEqual({ driver: "file", "node-name": expect.stringMatching(/^#block/), "read-only": true });
  });
});

describe("reopen: a dotted key below an option that is not a dictionary", () => {
  const failure = async (text: string) => {
    const { result, sent } = await run(text);
    expect(sent.filter((s) => s.command === "blockdev-reopen")).toEqual([]);
    return result.failures.map((f) => f.message);
  };

  it("names a child given as a reference as one", async () => {
    const messages = await failure('scenario "t"\nadd f0: file filename=a.qcow2\nadd top: qcow2 file=f0\nreopen top file.aio=threads\n');
    expect(messages).toEqual([expect.stringContaining(`cannot set 'file.aio': 'file' is a reference to node "f0", not inline options`)]);
  });

  it("names a plain value as a value, not a node reference", async () => {
    const messages = await failure(
      'scenario "t"\nadd f0: file filename=a.qcow2\nadd top: qcow2 file=f0 overlap-check=none\nreopen top overlap-check.template=constant\n',
    );
    expect(messages).toEqual([
      expect.stringContaining(`cannot set 'overlap-check.template': 'overlap-check' is the value "none", not a set of options; set 'overlap-check' itself, to a JSON object ({"…": …})`),
    ]);
  });
});

describe("exports", () => {
  it("starts the NBD server once on a socket in the scratch dir, and waits for deletion", async () => {
    const { sent, dir, result } = await run(
      'scenario "t"\nadd n0: null-co\nexport n0 writable\nexport n0 id=e1 name=two\nunexport n0\nunexport e1\nshow graph\n',
    );
    expect(result.failures).toEqual([]);
    expect(sent.map((s) => s.command)).toEqual([
      "blockdev-add",
      "nbd-server-start",
      "block-export-add",
      "block-export-add",
      "block-export-del",
      "block-export-del",
    ]);
    // Relative to QEMU's working directory, the scratch directory: short whatever TMPDIR is.
    expect(sent[1]!.args).toEqual({ addr: { type: "unix", data: { path: "nbd.sock" } } });
    expect(sent[2]!.args).toEqual({ type: "nbd", id: "n0", "node-name": "n0", writable: true });
    expect(sent[3]!.args).toEqual({ type: "nbd", id: "e1", "node-name": "n0", writable: false, name: "two" });
    expect(result.transcript).toContain("show graph\n  n0 (no edges)\n");
  });
});

describe("expectations and failures", () => {
  it("quotes file:line, the phase, expected and actual", async () => {
    const { result } = await run(
      [
        'scenario "t"',
        "## setup",
        "add n0: null-co",
        'add n1: null-co -> error "boom"',
        'add n0: null-co -> error /^Duplicate/',
        'add n0: null-co -> error "other"',
        "add n0: null-co",
      ].join("\n"),
      new FakeEngine(),
      5_000,
      false,
    );
    expect(result.status).toBe("fail");
    expect(result.failures).toEqual([
      {
        kind: "expectation",
        message: 'expected error "boom", but the step succeeded',
        location: "tests/scenarios/t.scn:4",
        phase: "setup",
        source: 'add n1: null-co -> error "boom"',
      },
      expect.objectContaining({
        message: `expected error "other", got error "Duplicate nodes with node-name='n0'"`,
        location: "tests/scenarios/t.scn:6",
      }),
      expect.objectContaining({ message: "expected success, got error: Duplicate nodes with node-name='n0'" }),
    ]);
  });

  it("writes auto names as graph paths and the scratch dir as $TEST_DIR in messages", async () => {
    const { result } = await run('scenario "t"\nadd r0: raw file=(file filename=a.raw)\nqmp query-named-block-nodes\n');
    // Whatever the JSON layout of the reply (spaces after colons or not): the names are normalized.
    expect(result.transcript).toMatch(/"node-name": ?"r0\/file"/);
    expect(result.transcript).toMatch(/"file": ?"\$TEST_DIR\/a\.raw"/);
    expect(result.transcript).not.toMatch(/#block|blockcheck-/);
  });

  it("stops at a path that leaves the scratch directory, with a located error", async () => {
    const { result, engine } = await run('scenario "t"\nimage ../x.img raw 1M\nadd n0: null-co\n', new FakeEngine(), 5_000, false);
    expect(result.failures).toEqual([
      expect.objectContaining({ kind: "error", message: "path '../x.img' leaves the scratch directory", location: "tests/scenarios/t.scn:2" }),
    ]);
    expect(engine.images).toEqual([]);
    expect(engine.sent).toEqual([]);
    expect(engine.stopped).toBe(1);
  });

  it("skips a scenario whose requirements the engine does not meet, saying why", async () => {
    const { result } = await run('scenario "t"\nrequire io\nadd n0: null-co\nio n0 "read 0 512"\n');
    expect(result).toMatchObject({ status: "skip", skipReason: "requires io; the model engine has no qemu-io" });
  });

  it("fails a run that outlives its timeout and still stops the engine", async () => {
    const engine = new FakeEngine("qemu", { hang: true });
    const { result } = await run('scenario "t"\nadd n0: null-co\n', engine, 50);
    // Named at the statement it stopped in.
    expect(result.failures).toEqual([
      { kind: "timeout", message: "timed out after 0.05s", infrastructure: true, location: "tests/scenarios/t.scn:2", source: "add n0: null-co" },
    ]);
    expect(engine.stopped).toBe(1);
  });

  it("shows qemu-io output with timings removed; a 'failed:' line is the step's error", async () => {
    const engine = new FakeEngine("qemu", { io: true });
    const { result } = await run('scenario "t"\nrequire io\nadd n0: null-co\nio n0 "write 0 64k"\n', engine);
    expect(result.transcript).toContain(
      'io n0 "write 0 64k"\n  ok\n  write 0 64k on n0\n  wrote 65536/65536 bytes at offset 0\n  64 KiB, X ops; XX:XX:XX.X (XXX YYY/sec and XXX ops/sec)\n',
    );
  });
});
