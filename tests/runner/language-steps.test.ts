/**
 * The runner's side of `expect node`, `show node NODE KEY…`, `reopen fresh`, export options, the
 * note on "backing is missing", and reply layout, on the model engine (QEMU gives the same
 * transcripts: the scenario corpus runs on both).
 */
import { describe, expect, it } from "vitest";
import { recordingRunner } from "./support/recording-model.js";

const run = recordingRunner();

/** The transcript lines after the step whose text is `step`, up to the next step. */
function outputOf(transcript: string | undefined, step: string): string[] {
  const lines = (transcript ?? "").split("\n");
  const i = lines.indexOf(step);
  if (i < 0) throw new Error(`no step '${step}' in:\n${transcript}`);
  const out: string[] = [];
  for (const l of lines.slice(i + 1)) {
    if (!l.startsWith("  ")) break;
    out.push(l.slice(2));
  }
  return out;
}

describe("expect node", () => {
  it("passes when every property matches, and fails naming each that does not, expected and actual", async () => {
    const { result } = await run([
      "add n0: null-co size=1M detect-zeroes=on",
      "expect node n0 driver=null-co read-only=off detect-zeroes=on image.virtual-size=1M",
      "expect node n0 detect-zeroes=off image.virtual-size=2M read-only=true backing-file=x",
    ]);
    expect(result.failures.map((f) => f.message)).toEqual([
      "node 'n0': expected detect-zeroes=off, got detect-zeroes=on; expected image.virtual-size=2097152, got image.virtual-size=1048576; " +
        "expected read-only=true, got read-only=false; expected backing-file=x, got backing-file=null",
    ]);
    expect(outputOf(result.transcript, "expect node n0 driver=null-co read-only=off detect-zeroes=on image.virtual-size=1M")).toEqual(["ok"]);
  });

  it("compares strings as transcripts show them: scratch paths as $TEST_DIR, implicit nodes by path", async () => {
    const { result } = await run([
      "image a.raw raw 64k",
      "add r0: raw file=(file filename=a.raw)",
      "expect node r0/file filename=$TEST_DIR/a.raw node-name=r0/file",
    ]);
    expect(result.failures).toEqual([]);
  });

  it("fails, naming the node, when the node a path leads to does not exist", async () => {
    const { result } = await run(["add n0: null-co", "expect node n0/file read-only=off"]);
    expect(result.failures.map((f) => f.message)).toEqual(["expected node 'n0/file' to have read-only, but it does not exist"]);
  });
});

describe("show node NODE KEY…", () => {
  it("writes KEY=VALUE lines as expect node takes them; objects laid out as replies are", async () => {
    const { result } = await run(["add n0: null-co detect-zeroes=on", "show node n0 detect-zeroes read-only cache backing-file image.format"]);
    expect(outputOf(result.transcript, "show node n0 detect-zeroes read-only cache backing-file image.format")).toEqual([
      "detect-zeroes=on",
      "read-only=off",
      'cache={"no-flush": false, "direct": false, "writeback": true}',
      "backing-file=null",
      "image.format=null-co",
    ]);
  });
});

describe("reopen fresh", () => {
  it("sends the add-time options with the changes, forgetting earlier reopens; a later plain reopen builds on it", async () => {
    const { result, sent } = await run([
      "add n0: null-co size=1M read-zeroes=on",
      "reopen n0 detect-zeroes=on",
      "reopen fresh n0 read-only=on",
      "reopen n0 detect-zeroes=off",
      "reopen fresh { ",
      "  n0",
      "}",
    ]);
    expect(result.failures).toEqual([]);
    const base = { driver: "null-co", "node-name": "n0", size: 1048576, "read-zeroes": true };
    expect(sent("blockdev-reopen")).toEqual([
      { options: [{ ...base, "detect-zeroes": "on" }] },
      { options: [{ ...base, "read-only": true }] },
      { options: [{ ...base, "read-only": true, "detect-zeroes": "off" }] },
      { options: [base] },
    ]);
  });
});

describe("the note on 'backing is missing'", () => {
  const images = ["image base.qcow2 qcow2 64k", "image top.qcow2 qcow2 64k backing=base.qcow2 backing-fmt=qcow2"];

  it("says how to name the backing child when a reopen leaves it out", async () => {
    const { result } = await run([...images, "add top: qcow2 file=(file filename=top.qcow2)", "reopen top read-only=on"]);
    expect(result.failures).toEqual([
      expect.objectContaining({
        message: "expected success, got error: backing is missing for 'top'",
        details: "note: a reopen of 'top' must name its backing child: backing=top/backing keeps it, backing=null detaches it",
      }),
    ]);
  });

  it("says backing=null when the child is gone but the image still names a backing file", async () => {
    const { result } = await run([
      ...images,
      "add top: qcow2 file=(file filename=top.qcow2)",
      "reopen top backing=null",
      'reopen fresh top read-only=on -> error "backing is missing"',
    ]);
    expect(result.failures.map((f) => f.details)).toEqual([
      "note: 'top' has no backing child, but its image names a backing file: write backing=null to leave it without one",
    ]);
  });

  it("is not added when the error was expected", async () => {
    const { result } = await run([...images, "add top: qcow2 file=(file filename=top.qcow2)", "reopen top read-only=on -> error /backing is missing/"]);
    expect(result.failures).toEqual([]);
  });
});

describe("export options", () => {
  it("passes every block-export-add member for nbd that is written", async () => {
    const { result, sent } = await run([
      "add n0: null-co",
      'export n0 id=x0 name=disk description="a disk" allocation-depth=on writethrough=off fixed-iothread=off',
      "expect edge export x0 -root-> n0 perm=consistent-read",
    ]);
    expect(result.failures).toEqual([]);
    expect(sent("block-export-add")).toEqual([
      {
        type: "nbd",
        id: "x0",
        "node-name": "n0",
        writable: false,
        name: "disk",
        description: "a disk",
        "allocation-depth": true,
        writethrough: false,
        "fixed-iothread": false,
      },
    ]);
  });
});

describe("qmp replies", () => {
  it("are laid out in QEMU's member order: one line when short, broken over lines when long", async () => {
    const { result } = await run(["add n0: null-co", "qmp query-named-block-nodes {\"flat\": true}"]);
    const out = outputOf(result.transcript, 'qmp query-named-block-nodes {"flat": true}');
    expect(out[0]).toBe("return: [");
    expect(out[1]).toBe("  {");
    // QEMU's order, which is its QDict's hash order, not the schema's (the model answers alike).
    expect(out).toContain('    "cache": {"no-flush": false, "direct": false, "writeback": true},');
    expect(out.at(-1)).toBe("]");
    expect(Math.max(...out.map((l) => l.length))).toBeLessThanOrEqual(100);
  });
});

describe("on and off where a name or a string is wanted", () => {
  it("name a node in a child option and a job's node argument, and stay words in a string member", async () => {
    const { result, sent } = await run([
      "require jobs",
      "add off: null-co size=1M",
      "add on: null-co size=1M",
      "add r: raw file=off",
      "add t: throttle file=on throttle-group=off -> error \"Throttle group 'off' does not exist\"",
      "job mirror j r target=on sync=full",
      "wait j ready",
      "job cancel j",
      "wait j null",
    ]);
    expect(result.failures).toEqual([]);
    const adds = sent("blockdev-add");
    expect(adds[2]).toMatchObject({ "node-name": "r", file: "off" });
    expect(adds[3]).toMatchObject({ file: "on", "throttle-group": "off" });
    expect(sent("blockdev-mirror")[0]).toMatchObject({ device: "r", target: "on" });
  });
});
