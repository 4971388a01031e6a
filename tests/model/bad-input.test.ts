/**
 * The model on bad input, each case first run by hand on qemu-storage-daemon 7.2.22 (the replies
 * written here are its own): throttle-group limits out of range, null-co sizes, blkdebug config
 * files. With QEMU installed the same cases are also replayed on the daemon and compared live.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { QemuWouldCrashError } from "../../src/engines/model/qemu-would-crash.js";
import { runQsdStdio } from "../monitor/qsd-batch.js";
import { describeWithQemu } from "../support/qemu.js";
import { Fixture } from "./support/fixture.js";

const group = (id: string, props: Record<string, unknown>) => ({ "qom-type": "throttle-group", id, ...props });

/** [object-add arguments, QEMU's reply: "ok" or its error] */
const THROTTLE_CASES: Array<[Record<string, unknown>, string]> = [
  [group("g1", { limits: { "iops-total": -1 } }), "bps/iops/max values must be within [0, 1000000000000000]"],
  [group("g2", { limits: { "bps-total": 1000000000000001 } }), "bps/iops/max values must be within [0, 1000000000000000]"],
  [group("g3", { limits: { "bps-total": 1000000000000000 } }), "ok"],
  [group("g4", { limits: { "bps-total": 100, "bps-read": 10 } }), "bps/iops/max total values and read/write values cannot be used at the same time"],
  [group("g5", { limits: { "iops-size": 512 } }), "iops size requires an iops value to be set"],
  [group("g6", { limits: { "bps-total-max-length": 0 } }), "the burst length cannot be 0"],
  [group("g7", { limits: { "bps-total-max-length": 4294967296 } }), "bps-total-max-length value must be in the range [0, 4294967295]"],
  [group("g8", { limits: { "bps-total-max-length": 2 } }), "burst length set without burst rate"],
  [group("g9", { limits: { "bps-total-max": 100 } }), "bps_max/iops_max require corresponding bps/iops values"],
  [group("g10", { limits: { "bps-total-max": 100, "bps-total": 200 } }), "bps_max/iops_max cannot be lower than bps/iops"],
  [group("g11", { limits: { "bps-total-max": 1000000000000000, "bps-total": 2, "bps-total-max-length": 2 } }), "burst length too high for this burst rate"],
  [group("g12", { "x-iops-total": -1 }), "Property values cannot be negative"],
  [group("g13", { "x-iops-total-max-length": 4294967296 }), "x-iops-total-max-length value must be in therange [0, 4294967295]"],
  [group("g14", { limits: { "iops-total-max-length": -1 } }), "burst length set without burst rate"],
  [group("g15", { "x-iops-size": 5 }), "iops size requires an iops value to be set"],
  [group("g16", { "x-iops-total-max": 10, "x-iops-total": 5, "x-iops-total-max-length": 0 }), "the burst length cannot be 0"],
  [group("g17", { "x-iops-total": 5, limits: { "iops-read": 1 } }), "bps/iops/max total values and read/write values cannot be used at the same time"],
  [group("g18", { "x-bps-read": 5, "x-iops-read": -1, "x-bps-total-max-length": 99999999999, limits: { "bps-total": 1 } }), "x-bps-total-max-length value must be in therange [0, 4294967295]"],
  [group("g3", { limits: {} }), "attempt to add duplicate property 'g3' to object (type 'container')"],
  // The properties are set before the id is taken: their errors come first.
  [group("g3", { limits: { "iops-size": 5 } }), "iops size requires an iops value to be set"],
];

/** [config file contents (undefined: no such file), QEMU's reply to a blkdebug over n0 with it] */
const CONFIG_CASES: Array<[string | undefined, string]> = [
  ['[inject-error]\nevent = "read_aio"\n', "ok"],
  [undefined, "Could not read blkdebug config file: No such file or directory"],
  ['[nosuch]\nevent = "read_aio"\n', "There is no option group 'nosuch'"],
  ['[nosuch]\nevent = "read_aio"\n[inject-error]\nevent = "read_aio"\n', "There is no option group 'nosuch'"],
  ['[inject-error]\nevent="read_aio"\n', "Invalid parameter 'event=\"read_aio\"'"],
  ['event = "x"\n', "no group defined"],
  ['[inject-error]\nevent = "nosuch"\n', "invalid parameter value: nosuch"],
  ['[inject-error]\nstate = "1"\n', "Missing event name for rule"],
  ['[inject-error]\nevent = "read_aio"\nfoo = "1"\n[set-state]\nevent = "read_aio"\n', "Invalid parameter 'foo'"],
  ['[inject-error]\nevent = "read_aio"\nonce = "maybe"\n[set-state]\nevent="read_aio"\n', "Parameter 'once' expects 'on' or 'off'"],
  ['[inject-error]\nevent = "read_aio"\nerrno = "x"\n[set-state]\nevent = "read_aio"\n', "Parameter 'errno' expects a number"],
  ['[inject-error]\nevent = "read_aio"\nerrno = "99999999999999999999"\n[set-state]\nevent = "read_aio"\n', "Value '99999999999999999999' is too large for parameter 'errno'"],
  ['[inject-error]\nevent = "read_aio"\niotype = "nosuch"\n', "invalid parameter value: nosuch"],
  ['\n# c\n   \n[inject-error]\nevent = "read_aio"\n', "parse error"],
  ['[inject-error "a"]\nevent = "read_aio"\n[inject-error "a"]\nevent = "read_aio"\n[set-state]\nevent = "read_aio"\n', "Duplicate ID 'a' for inject-error"],
  ['[inject-error "1a"]\nevent = "read_aio"\n[set-state]\nevent = "read_aio"\n', "Parameter 'id' expects an identifier"],
  ['[inject-error]\nevent = "read_aio\n', "invalid parameter value: read_aio\n"],
  ['[inject-error]\r\nevent = "read_aio"\r\n', "ok"],
  ["", "ok"],
];

const blkdebug = (i: number, extra: Record<string, unknown> = {}) => ({ driver: "blkdebug", "node-name": `d${i}`, config: `c${i}.cfg`, image: "n0", ...extra });

function writeConfigs(dir: string): void {
  CONFIG_CASES.forEach(([text], i) => {
    if (text !== undefined) writeFileSync(join(dir, `c${i}.cfg`), text);
  });
}

/** What `run` threw (the test fails if it returned). */
function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (e) {
    return e;
  }
  return expect.fail("expected a throw");
}

describe("the model on bad input", () => {
  let f: Fixture;
  beforeEach(() => {
    f = new Fixture();
  });
  afterEach(() => f.dispose());

  const reply = (command: string, args: Record<string, unknown>) => {
    const r = f.model.execute(command, args);
    return "error" in r ? r.error.desc : "ok";
  };

  it("throttle-group limits out of range get QEMU's messages, in QEMU's order", () => {
    for (const [args, expected] of THROTTLE_CASES) expect([args, reply("object-add", args)]).toEqual([args, expected]);
  });

  it("null-co: a negative size is QEMU's abort in parse_option_size; other sizes as QEMU takes them", () => {
    const e = thrown(() => f.model.execute("blockdev-add", { driver: "null-co", "node-name": "a", size: -1 }));
    expect(e).toBeInstanceOf(QemuWouldCrashError);
    expect(e).toMatchObject({
      command: "blockdev-add",
      signal: "SIGABRT",
      detail: "Unexpected error in parse_option_size() at ../../util/qemu-option.c:145:\nParameter 'size' expects a non-negative number below 2^64",
    });
  });

  it("null-co: latency-ns that is negative as int64, and a length past BDRV_MAX_LENGTH, are errors", () => {
    expect(reply("blockdev-add", { driver: "null-co", "node-name": "b", "latency-ns": -1 })).toBe("latency-ns is invalid");
    expect(reply("blockdev-add", { driver: "null-co", "node-name": "c", "latency-ns": 2n ** 63n })).toBe("latency-ns is invalid");
    expect(reply("blockdev-add", { driver: "null-co", "node-name": "d", size: 9223372035781033985n })).toBe(
      "Could not refresh total sector count: File too large",
    );
    expect(reply("blockdev-add", { driver: "null-co", "node-name": "e", size: 9223372035781033984n })).toBe("ok");
  });

  it("blkdebug reads its config file and fails as QEMU does", () => {
    writeConfigs(f.dir);
    f.ok("blockdev-add", { driver: "null-co", "node-name": "n0" });
    CONFIG_CASES.forEach(([text, expected], i) => expect([text, reply("blockdev-add", blkdebug(i))]).toEqual([text, expected]));
    mkdirSync(join(f.dir, "dir.cfg"));
    expect(reply("blockdev-add", blkdebug(99, { config: "dir.cfg" }))).toBe("Cannot read config file: Is a directory");
    writeFileSync(join(f.dir, "id.cfg"), '[inject-error "inject-error.0"]\nevent = "read_aio"\n');
    expect(reply("blockdev-add", blkdebug(98, { config: "id.cfg", "inject-error": [{ event: "read_aio" }] }))).toBe(
      "Duplicate ID 'inject-error.0' for inject-error",
    );
  });

  it("blkdebug: an error in the config's last section that QEMU leaves pending asserts when the open fails later", () => {
    writeFileSync(join(f.dir, "last.cfg"), '[nosuch]\nevent = "read_aio"\n');
    const e = thrown(() => f.model.execute("blockdev-add", { driver: "blkdebug", "node-name": "d", config: "last.cfg", image: "nosuch" }));
    expect(e).toMatchObject({ signal: "SIGABRT", detail: "../../util/error.c:59: error_setv: Assertion `*errp == NULL' failed." });
  });

  it("blkdebug: size options QemuOpts refuses, and align 0 (no alignment)", () => {
    f.ok("blockdev-add", { driver: "null-co", "node-name": "n0" });
    expect(reply("blockdev-add", { driver: "blkdebug", "node-name": "d2", image: "n0", align: 0 })).toBe("ok");
    expect(reply("blockdev-add", { driver: "blkdebug", "node-name": "d3", image: "n0", align: -1 })).toBe(
      "Parameter 'align' expects a non-negative number below 2^64",
    );
  });
});

describeWithQemu("the bad-input cases on qemu-storage-daemon", () => {
  /** The daemon's reply texts to `commands` (after qmp_capabilities), run in `cwd`. */
  function daemonReplies(commands: object[], cwd: string): string[] {
    const out = runQsdStdio(['{"execute":"qmp_capabilities"}', ...commands.map((c) => JSON.stringify(c))], { cwd });
    const lines = out.split("\r\n").filter((l) => l !== "").map((l) => JSON.parse(l) as { return?: unknown; error?: { desc: string } });
    return lines.slice(2, 2 + commands.length).map((l) => (l.error ? l.error.desc : "ok"));
  }

  it("gives the replies written above", () => {
    const f = new Fixture();
    try {
      writeConfigs(f.dir);
      const throttle = THROTTLE_CASES.map(([args]) => ({ execute: "object-add", arguments: args }));
      const configs = CONFIG_CASES.map((_, i) => ({ execute: "blockdev-add", arguments: blkdebug(i) }));
      const n0 = { execute: "blockdev-add", arguments: { driver: "null-co", "node-name": "n0" } };
      const replies = daemonReplies([...throttle, n0, ...configs], f.dir);
      expect(replies).toEqual([...THROTTLE_CASES.map(([, r]) => r), "ok", ...CONFIG_CASES.map(([, r]) => r)]);
    } finally {
      f.dispose();
    }
  });
});
