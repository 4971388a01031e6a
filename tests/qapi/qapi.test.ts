import { describe, expect, it } from "vitest";
import { validateQmpCommand } from "../../src/qapi/validate.js";
import { describeWithQemu } from "../support/qemu.js";
import { qsdReplies } from "../monitor/qsd-batch.js";
import { toQemuJson } from "../../src/monitor/json-writer.js";

/**
 * Command → exact reply, recorded from qemu-storage-daemon 7.2.22 (rows whose reply is a `return`
 * are valid input). The QEMU suite below replays the table on the real daemon so it cannot rot.
 */
const table: [string, unknown, Record<string, unknown>][] = [
  ["nosuch", undefined, {"error": {"class": "CommandNotFound", "desc": "The command nosuch has not been found"}}],
  ["blockdev-add", {"driver":"nosuchdrv","node-name":"x"}, {"error": {"class": "GenericError", "desc": "Parameter 'driver' does not accept value 'nosuchdrv'"}}],
  ["blockdev-add", {"node-name":"x"}, {"error": {"class": "GenericError", "desc": "Parameter 'driver' is missing"}}],
  ["blockdev-add", {"driver":1}, {"error": {"class": "GenericError", "desc": "Invalid parameter type for 'driver', expected: string"}}],
  ["blockdev-add", {"driver":"raw","node-name":"r0"}, {"error": {"class": "GenericError", "desc": "Parameter 'file' is missing"}}],
  ["blockdev-add", {"driver":"raw","node-name":"x","file":{"driver":"nosuch"}}, {"error": {"class": "GenericError", "desc": "Parameter 'driver' does not accept value 'nosuch'"}}],
  ["blockdev-add", {"driver":"raw","node-name":"x","file":{"driver":"file"}}, {"error": {"class": "GenericError", "desc": "Parameter 'file.filename' is missing"}}],
  ["blockdev-add", {"driver":"raw","node-name":"x","file":{"driver":"file","filename":1}}, {"error": {"class": "GenericError", "desc": "Invalid parameter type for 'file.filename', expected: string"}}],
  ["blockdev-add", {"driver":"raw","node-name":"x","file":{"driver":"file","filename":"a","bogus":1}}, {"error": {"class": "GenericError", "desc": "Parameter 'file.bogus' is unexpected"}}],
  ["blockdev-add", {"driver":"raw","node-name":"x","file":1}, {"error": {"class": "GenericError", "desc": "Invalid parameter type for 'file', expected: BlockdevRef"}}],
  ["blockdev-add", {"driver":"raw","node-name":"x","file":null}, {"error": {"class": "GenericError", "desc": "Invalid parameter type for 'file', expected: BlockdevRef"}}],
  ["blockdev-add", {"driver":"raw","node-name":"x","file":"f","backing":null}, {"error": {"class": "GenericError", "desc": "Parameter 'backing' is unexpected"}}],
  ["blockdev-add", {"driver":"qcow2","node-name":"x","file":"f","backing":1}, {"error": {"class": "GenericError", "desc": "Invalid parameter type for 'backing', expected: BlockdevRefOrNull"}}],
  ["blockdev-add", {"driver":"qcow2","node-name":"x","file":"f","backing":{"driver":"bad"}}, {"error": {"class": "GenericError", "desc": "Parameter 'driver' does not accept value 'bad'"}}],
  ["blockdev-add", {"driver":"qcow2","node-name":"x","file":"f","backing":{"driver":"raw"}}, {"error": {"class": "GenericError", "desc": "Parameter 'backing.file' is missing"}}],
  ["blockdev-add", {"driver":"qcow2","node-name":"x","file":"f","overlap-check":"bad"}, {"error": {"class": "GenericError", "desc": "Parameter 'overlap-check' does not accept value 'bad'"}}],
  ["blockdev-add", {"driver":"qcow2","node-name":"x","file":"f","overlap-check":1}, {"error": {"class": "GenericError", "desc": "Invalid parameter type for 'overlap-check', expected: Qcow2OverlapChecks"}}],
  ["blockdev-add", {"driver":"qcow2","node-name":"x","file":"f","overlap-check":{"template":"none","bogus":true}}, {"error": {"class": "GenericError", "desc": "Parameter 'overlap-check.bogus' is unexpected"}}],
  ["blockdev-add", {"driver":"qcow2","node-name":"x","file":"f","data-file":3}, {"error": {"class": "GenericError", "desc": "Invalid parameter type for 'data-file', expected: BlockdevRef"}}],
  ["blockdev-add", {"driver":"null-co","node-name":"x","cache":1}, {"error": {"class": "GenericError", "desc": "Invalid parameter type for 'cache', expected: object"}}],
  ["blockdev-add", {"driver":"null-co","node-name":"x","cache":{"foo":1}}, {"error": {"class": "GenericError", "desc": "Parameter 'cache.foo' is unexpected"}}],
  ["blockdev-add", {"driver":"null-co","node-name":"x","cache":{"direct":"yes"}}, {"error": {"class": "GenericError", "desc": "Invalid parameter type for 'cache.direct', expected: boolean"}}],
  ["blockdev-add", {"driver":"null-co","node-name":"x","size":"x"}, {"error": {"class": "GenericError", "desc": "Invalid parameter type for 'size', expected: integer"}}],
  ["blockdev-add", {"driver":"null-co","node-name":"x","size":1.5}, {"error": {"class": "GenericError", "desc": "Invalid parameter type for 'size', expected: integer"}}],
  ["blockdev-add", {"driver":"null-co","node-name":"x","read-only":"on"}, {"error": {"class": "GenericError", "desc": "Invalid parameter type for 'read-only', expected: boolean"}}],
  ["blockdev-add", {"driver":"null-co","node-name":"x","discard":"bad"}, {"error": {"class": "GenericError", "desc": "Parameter 'discard' does not accept value 'bad'"}}],
  ["blockdev-add", {"driver":"null-co","node-name":"x","detect-zeroes":"maybe"}, {"error": {"class": "GenericError", "desc": "Parameter 'detect-zeroes' does not accept value 'maybe'"}}],
  ["blockdev-add", {"driver":"null-co","node-name":"x","zzz":1,"aaa":2}, {"error": {"class": "GenericError", "desc": "Parameter 'zzz' is unexpected"}}],
  ["blockdev-add", {"driver":"file","node-name":"x","filename":"a","aio":"bad"}, {"error": {"class": "GenericError", "desc": "Parameter 'aio' does not accept value 'bad'"}}],
  ["blockdev-add", {"driver":"file","node-name":"x","filename":"a","locking":"maybe"}, {"error": {"class": "GenericError", "desc": "Parameter 'locking' does not accept value 'maybe'"}}],
  ["blockdev-add", {"driver":"blkdebug","node-name":"x","image":"f","take-child-perms":["bad"]}, {"error": {"class": "GenericError", "desc": "Parameter 'null' does not accept value 'bad'"}}],
  ["blockdev-add", {"driver":"blkdebug","node-name":"x","image":"f","take-child-perms":"write"}, {"error": {"class": "GenericError", "desc": "Invalid parameter type for 'take-child-perms', expected: array"}}],
  ["blockdev-add", {"driver":"blkdebug","node-name":"x","image":"f","take-child-perms":[1]}, {"error": {"class": "GenericError", "desc": "Invalid parameter type for 'take-child-perms[0]', expected: string"}}],
  ["blockdev-add", {"driver":"blkdebug","node-name":"x","file":"f"}, {"error": {"class": "GenericError", "desc": "Parameter 'image' is missing"}}],
  ["blockdev-add", {"driver":"throttle","node-name":"x","file":"f"}, {"error": {"class": "GenericError", "desc": "Parameter 'throttle-group' is missing"}}],
  ["blockdev-add", {"driver":"throttle","node-name":"x","throttle-group":"g","file":"f","limits":{}}, {"error": {"class": "GenericError", "desc": "Parameter 'limits' is unexpected"}}],
  ["blockdev-add", {"driver":"copy-on-read","node-name":"x","file":"f","bottom":1}, {"error": {"class": "GenericError", "desc": "Invalid parameter type for 'bottom', expected: string"}}],
  ["blockdev-add", {"driver":"preallocate","node-name":"x","file":"f","prealloc-size":"big"}, {"error": {"class": "GenericError", "desc": "Invalid parameter type for 'prealloc-size', expected: integer"}}],
  ["blockdev-add", {"driver":"compress","node-name":"x"}, {"error": {"class": "GenericError", "desc": "Parameter 'file' is missing"}}],
  ["blockdev-add", [], {"error": {"class": "GenericError", "desc": "QMP input member 'arguments' must be an object"}}],
  ["blockdev-reopen", {}, {"error": {"class": "GenericError", "desc": "Parameter 'options' is missing"}}],
  ["blockdev-reopen", {"options":{}}, {"error": {"class": "GenericError", "desc": "Invalid parameter type for 'options', expected: array"}}],
  ["blockdev-reopen", {"options":[1]}, {"error": {"class": "GenericError", "desc": "Invalid parameter type for 'options[0]', expected: object"}}],
  ["blockdev-reopen", {"options":[{"driver":"raw","node-name":"x"}]}, {"error": {"class": "GenericError", "desc": "Parameter 'options[0].file' is missing"}}],
  ["blockdev-reopen", {"options":[{"driver":"raw","node-name":"x","file":null}]}, {"error": {"class": "GenericError", "desc": "Invalid parameter type for 'file', expected: BlockdevRef"}}],
  ["blockdev-reopen", {"options":[{"driver":"raw","node-name":"r0","file":"f0","backing":null}]}, {"error": {"class": "GenericError", "desc": "Parameter 'options[0].backing' is unexpected"}}],
  ["blockdev-reopen", {"options":[{"driver":"raw","node-name":"x","file":{"driver":"file"}}]}, {"error": {"class": "GenericError", "desc": "Parameter 'options[0].file.filename' is missing"}}],
  ["blockdev-reopen", {"options":[{"driver":"raw","node-name":"x","file":{"driver":"file","filename":"a","aio":"bad"}}]}, {"error": {"class": "GenericError", "desc": "Parameter 'aio' does not accept value 'bad'"}}],
  ["blockdev-reopen", {"options":[{"driver":"raw","node-name":"x","file":{"driver":"file","filename":"a","aio":1}}]}, {"error": {"class": "GenericError", "desc": "Invalid parameter type for 'options[0].file.aio', expected: string"}}],
  ["blockdev-reopen", {"options":[{"driver":"raw","node-name":1,"file":"a"}]}, {"error": {"class": "GenericError", "desc": "Invalid parameter type for 'options[0].node-name', expected: string"}}],
  ["blockdev-reopen", {"options":[{"driver":"null-co","node-name":"a"},{"driver":"raw","node-name":"b"}]}, {"error": {"class": "GenericError", "desc": "Parameter 'options[1].file' is missing"}}],
  ["blockdev-del", {}, {"error": {"class": "GenericError", "desc": "Parameter 'node-name' is missing"}}],
  ["blockdev-del", {"node-name":null}, {"error": {"class": "GenericError", "desc": "Invalid parameter type for 'node-name', expected: string"}}],
  ["blockdev-del", {"node-name":"x","force":true}, {"error": {"class": "GenericError", "desc": "Parameter 'force' is unexpected"}}],
  ["query-version", {"x":1}, {"error": {"class": "GenericError", "desc": "Parameter 'x' is unexpected"}}],
  ["query-named-block-nodes", {"flat":"x"}, {"error": {"class": "GenericError", "desc": "Invalid parameter type for 'flat', expected: boolean"}}],
  ["x-debug-query-block-graph", {"x":1}, {"error": {"class": "GenericError", "desc": "Parameter 'x' is unexpected"}}],
  ["object-add", {"qom-type":"throttle-group","id":"tg","limits":{"iops-total":"x"}}, {"error": {"class": "GenericError", "desc": "Invalid parameter type for 'limits.iops-total', expected: integer"}}],
  ["object-add", {"qom-type":"throttle-group","id":"tg","limits":{"nosuch":1}}, {"error": {"class": "GenericError", "desc": "Parameter 'limits.nosuch' is unexpected"}}],
  ["object-add", {"qom-type":"throttle-group"}, {"error": {"class": "GenericError", "desc": "Parameter 'id' is missing"}}],
  ["object-add", {"qom-type":"nosuch","id":"o"}, {"error": {"class": "GenericError", "desc": "Parameter 'qom-type' does not accept value 'nosuch'"}}],
  ["object-add", {"id":"o"}, {"error": {"class": "GenericError", "desc": "Parameter 'qom-type' is missing"}}],
  ["object-add", {"qom-type":"throttle-group","id":"tg","bogus":1}, {"error": {"class": "GenericError", "desc": "Parameter 'bogus' is unexpected"}}],
  ["object-del", {}, {"error": {"class": "GenericError", "desc": "Parameter 'id' is missing"}}],
  ["nbd-server-start", {}, {"error": {"class": "GenericError", "desc": "Parameter 'addr' is missing"}}],
  ["nbd-server-start", {"addr":{"type":"unix"}}, {"error": {"class": "GenericError", "desc": "Parameter 'addr.data' is missing"}}],
  ["nbd-server-start", {"addr":{"type":"unix","data":{"path":"x"}}}, {"return": {}}],
  ["nbd-server-start", {"addr":{"type":"carrier-pigeon"}}, {"error": {"class": "GenericError", "desc": "Parameter 'type' does not accept value 'carrier-pigeon'"}}],
  ["nbd-server-start", {"addr":{"type":"inet","host":"127.0.0.1"}}, {"error": {"class": "GenericError", "desc": "Parameter 'addr.data' is missing"}}],
  ["nbd-server-start", {"addr":{"type":"unix","path":"s"},"max-connections":"x"}, {"error": {"class": "GenericError", "desc": "Parameter 'addr.data' is missing"}}],
  ["block-export-add", {"type":"nbd","id":"e0"}, {"error": {"class": "GenericError", "desc": "Parameter 'node-name' is missing"}}],
  ["block-export-add", {"id":"e0","node-name":"n"}, {"error": {"class": "GenericError", "desc": "Parameter 'type' is missing"}}],
  ["block-export-add", {"type":"nbd","id":"e0","node-name":"n","writable":"yes"}, {"error": {"class": "GenericError", "desc": "Invalid parameter type for 'writable', expected: boolean"}}],
  ["block-export-add", {"type":"nbd","id":"e0","node-name":"n","bitmaps":"b"}, {"error": {"class": "GenericError", "desc": "Invalid parameter type for 'bitmaps', expected: array"}}],
  ["block-export-add", {"type":"nfs","id":"e0","node-name":"n"}, {"error": {"class": "GenericError", "desc": "Parameter 'type' does not accept value 'nfs'"}}],
  ["block-export-del", {}, {"error": {"class": "GenericError", "desc": "Parameter 'id' is missing"}}],
  ["block-export-del", {"id":"e0","mode":"maybe"}, {"error": {"class": "GenericError", "desc": "Parameter 'mode' does not accept value 'maybe'"}}],
  ["nbd-server-stop", {"now":true}, {"error": {"class": "GenericError", "desc": "Parameter 'now' is unexpected"}}],
  ["quit", {"force":true}, {"error": {"class": "GenericError", "desc": "Parameter 'force' is unexpected"}}],
  ["qmp_capabilities", {"enable":["x"]}, {"error": {"class": "GenericError", "desc": "Parameter 'null' does not accept value 'x'"}}],
  ["qmp_capabilities", {"enable":"oob"}, {"error": {"class": "GenericError", "desc": "Invalid parameter type for 'enable', expected: array"}}],
  ["blockdev-add", {"driver":"null-co","node-name":"x","latency-ns":"abc"}, {"error": {"class": "GenericError", "desc": "Parameter 'latency-ns' expects uint64"}}],
  ["blockdev-add", {"driver":"null-co","node-name":"x","latency-ns":1.5}, {"error": {"class": "GenericError", "desc": "Parameter 'latency-ns' expects uint64"}}],
  ["blockdev-add", {"driver":"null-co","latency-ns":-1}, {"error": {"class": "GenericError", "desc": "'node-name' must be specified for the root node"}}],
  ["blockdev-add", {"driver":"null-co","latency-ns":18446744073709551615n}, {"error": {"class": "GenericError", "desc": "'node-name' must be specified for the root node"}}],
  ["blockdev-add", {"driver":"null-co","node-name":"x","latency-ns":18446744073709551616n}, {"error": {"class": "GenericError", "desc": "Parameter 'latency-ns' expects uint64"}}],
  ["blockdev-add", {"driver":"null-co","node-name":"x","size":9223372036854775808n}, {"error": {"class": "GenericError", "desc": "Invalid parameter type for 'size', expected: integer"}}],
  ["blockdev-add", {"driver":"null-co","size":-9223372036854775808n}, {"error": {"class": "GenericError", "desc": "'node-name' must be specified for the root node"}}],
  ["blockdev-add", {"driver":"blkdebug","node-name":"x","image":"f","max-transfer":2147483648}, {"error": {"class": "GenericError", "desc": "Parameter 'max-transfer' expects int32_t"}}],
  ["blockdev-add", {"driver":"blkdebug","image":"f","max-transfer":-2147483648}, {"error": {"class": "GenericError", "desc": "'node-name' must be specified for the root node"}}],
  ["blockdev-add", {"driver":"blkdebug","node-name":"x","image":"f","max-transfer":-2147483649}, {"error": {"class": "GenericError", "desc": "Parameter 'max-transfer' expects int32_t"}}],
  ["blockdev-add", {"driver":"blkdebug","node-name":"x","image":"f","max-transfer":"x"}, {"error": {"class": "GenericError", "desc": "Invalid parameter type for 'max-transfer', expected: integer"}}],
  ["blockdev-add", {"driver":"blkdebug","image":"f","set-state":[{"event":"read_aio","state":99999999999,"new_state":1}]}, {"error": {"class": "GenericError", "desc": "'node-name' must be specified for the root node"}}],
  ["nbd-server-start", {"addr":{"type":"unix","data":{"path":"s"}},"max-connections":-1}, {"error": {"class": "GenericError", "desc": "Parameter 'max-connections' expects uint32_t"}}],
  ["nbd-server-start", {"addr":{"type":"unix","data":{"path":"s"}},"max-connections":4294967296}, {"error": {"class": "GenericError", "desc": "Parameter 'max-connections' expects uint32_t"}}],
  ["nbd-server-start", {"addr":{"type":"unix","data":{"path":"s"}},"max-connections":"many"}, {"error": {"class": "GenericError", "desc": "Parameter 'max-connections' expects uint64"}}],
  ["block-export-add", {"type":"vhost-user-blk","id":"e","node-name":"n","addr":{"type":"unix","path":"s"},"num-queues":65536}, {"error": {"class": "GenericError", "desc": "Parameter 'num-queues' expects uint16_t"}}],
  ["blockdev-add", {"driver":"raw","file":{"driver":"null-co","latency-ns":"x"}}, {"error": {"class": "GenericError", "desc": "Parameter 'file.latency-ns' expects uint64"}}],
  ["blockdev-add", {"driver":"raw","file":{"driver":"blkdebug","image":"i","max-transfer":2147483648}}, {"error": {"class": "GenericError", "desc": "Parameter 'max-transfer' expects int32_t"}}],
  ["blockdev-add", {"driver":"raw","file":{"driver":"blkdebug","image":"i","max-transfer":"x"}}, {"error": {"class": "GenericError", "desc": "Invalid parameter type for 'file.max-transfer', expected: integer"}}],
];

/** Errors QEMU gives after its QAPI visitor accepted the arguments (the rows' probes leave out node-name on purpose). */
const AFTER_VALIDATION = new Set(["'node-name' must be specified for the root node"]);
const passedValidation = (reply: Record<string, unknown>) =>
  "return" in reply || AFTER_VALIDATION.has((reply.error as { desc: string }).desc);

describe("validateQmpCommand matches QEMU 7.2's QAPI input visitor", () => {
  it.each(table.map(([cmd, args, reply], i) => [i, cmd, args, reply] as const))("#%i %s", (_i, cmd, args, reply) => {
    const v = validateQmpCommand(cmd, args);
    if (passedValidation(reply)) expect(v).toEqual({ ok: true, args });
    else expect(v).toEqual({ ok: false, error: reply.error });
  });

  it("treats absent arguments as an empty object", () => {
    expect(validateQmpCommand("query-version", undefined)).toEqual({ ok: true, args: {} });
    expect(validateQmpCommand("blockdev-add", undefined)).toEqual({
      ok: false,
      error: { class: "GenericError", desc: "Parameter 'driver' is missing" },
    });
  });

  it("accepts valid arguments of the commands the model implements", () => {
    const valid: [string, Record<string, unknown>][] = [
      ["blockdev-add", { driver: "qcow2", "node-name": "q0", file: { driver: "file", filename: "a.qcow2" }, backing: null }],
      ["blockdev-add", { driver: "blkdebug", "node-name": "d0", image: "f0", "take-child-perms": ["resize"] }],
      ["blockdev-add", { driver: "throttle", "node-name": "t0", "throttle-group": "g", file: "n0" }],
      ["blockdev-reopen", { options: [{ driver: "raw", "node-name": "r0", file: "f0", "read-only": true }] }],
      ["object-add", { "qom-type": "throttle-group", id: "g", limits: { "iops-total": 100 } }],
      ["block-export-add", { type: "nbd", id: "e0", "node-name": "n0", writable: true }],
      ["query-named-block-nodes", { flat: true }],
    ];
    for (const [cmd, args] of valid) expect(validateQmpCommand(cmd, args), cmd).toEqual({ ok: true, args });
  });
});

describeWithQemu("the validation table against qemu-storage-daemon", () => {
  it("every row is what the real daemon answers", () => {
    const commands = table.map(([execute, args]) => (args === undefined ? { execute } : { execute, arguments: args }));
    const replies = qsdReplies(commands);
    expect(replies).toEqual(table.map(([, , reply]) => reply));
  });

  it("names the same unexpected key first for random sets of unknown keys", () => {
    // Which leftover key QEMU reports depends on GLib's hash table layout; compare many shapes.
    const words = ["zzz", "aaa", "foo", "bar", "x", "size2", "qq", "w-1", "abc.def", "k9", "m", "opt", "lat", "yy"];
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const commands = Array.from({ length: 150 }, (_, i) => {
      const args: Record<string, unknown> = { driver: "null-co", "node-name": `n${i}` };
      if (rnd() < 0.5) args.size = 1024;
      const n = 1 + Math.floor(rnd() * 14);
      for (let j = 0; j < n; j++) args[words[Math.floor(rnd() * words.length)]! + (rnd() < 0.4 ? j : "")] = j;
      return { execute: "blockdev-add", arguments: args };
    });
    const replies = qsdReplies(commands);
    const mine = commands.map((c) => {
      const v = validateQmpCommand(c.execute, c.arguments);
      return v.ok ? "ok" : v.error.desc;
    });
    expect(mine).toEqual(replies.map((r) => ((r.error as { desc?: string } | undefined)?.desc ?? "ok")));
  });
});
