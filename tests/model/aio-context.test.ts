/**
 * AioContexts on the model (aio-context/): iothread objects, x-blockdev-set-iothread, exports with
 * iothread and fixed-iothread, reopen attaching a child from another context, detaching, and the
 * places where QEMU 7.2 crashes. The same behaviours run on qemu-storage-daemon 7.2.22 and the model
 * alike in tests/scenarios/iothreads. A node's context is read as `expect context` reads it on both
 * engines: through commands only.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { join } from "node:path";
import { writeImage } from "../../src/engines/model/images/write-image.js";
import { DESTROYED_MUTEX_LOCKED } from "../../src/engines/model/aio-context/iothread-objects.js";
import { QemuWouldCrashError } from "../../src/engines/model/qemu-would-crash.js";
import { Fixture } from "./support/fixture.js";

const PIN = "probe-pin";

/**
 * The context `node` runs in, among `candidates` ("main" for the main loop), as the runner probes it:
 * pinned by an export on `top`, the topmost node above it.
 */
function contextOf(f: Fixture, node: string, top: string, candidates: string[]): string | undefined {
  f.ok("block-export-add", { type: "nbd", id: PIN, name: PIN, "node-name": top, "fixed-iothread": true });
  let found: string | undefined;
  for (const c of candidates) {
    const r = f.model.execute("x-blockdev-set-iothread", { "node-name": node, iothread: c === "main" ? null : c, force: true });
    if (!("error" in r)) {
      found = c;
      break;
    }
  }
  f.ok("block-export-del", { id: PIN });
  if (found && found !== "main") f.ok("x-blockdev-set-iothread", { "node-name": node, iothread: found, force: true });
  return found;
}

describe("AioContexts", () => {
  let f: Fixture;
  const ctx = (node: string, top = node) => contextOf(f, node, top, ["main", "io0", "io1"]);

  beforeEach(() => {
    f = new Fixture();
    for (const name of ["a", "b"]) writeImage(join(f.dir, `${name}.qcow2`), { path: `${name}.qcow2`, format: "qcow2", size: 1 << 20 });
    f.ok("object-add", { "qom-type": "iothread", id: "io0" });
    f.ok("object-add", { "qom-type": "iothread", id: "io1" });
    f.ok("nbd-server-start", { addr: { type: "unix", data: { path: "nbd.sock" } } });
  });
  afterEach(() => f.dispose());

  it("iothread objects check their properties, then the id, then the thread pool", () => {
    expect(f.err("object-add", { "qom-type": "iothread", id: "1io" })).toBe("Parameter 'id' expects an identifier");
    expect(f.err("object-add", { "qom-type": "iothread", id: "io0", "poll-grow": -1 })).toBe("poll-grow value must be in range [0, 9223372036854775807]");
    expect(f.err("object-add", { "qom-type": "iothread", id: "io0" })).toBe("attempt to add duplicate property 'io0' to object (type 'container')");
    expect(f.err("object-add", { "qom-type": "throttle-group", id: "io0" })).toBe("attempt to add duplicate property 'io0' to object (type 'container')");
    expect(f.err("object-add", { "qom-type": "iothread", id: "tp", "thread-pool-min": 100 })).toBe("bad thread-pool-min/thread-pool-max values");
    f.ok("object-add", { "qom-type": "iothread", id: "tp", "thread-pool-min": 4, "thread-pool-max": 4 });
    f.ok("object-del", { id: "tp" });
    expect(f.err("object-del", { id: "tp" })).toBe("object 'tp' not found");
  });

  it("x-blockdev-set-iothread moves a node with everything connected to it", () => {
    f.ok("blockdev-add", { driver: "qcow2", "node-name": "top", file: { driver: "file", filename: "top.qcow2" } });
    f.ok("blockdev-add", { driver: "raw", "node-name": "alone", file: { driver: "file", filename: "raw.img" } });
    const base = f.nodeAt("top/backing");
    f.ok("x-blockdev-set-iothread", { "node-name": base, iothread: "io0" });
    expect([ctx("top"), ctx(f.nodeAt("top/file"), "top"), ctx(f.nodeAt("top/backing/file"), "top"), ctx("alone")]).toEqual(["io0", "io0", "io0", "main"]);
    expect(f.err("x-blockdev-set-iothread", { "node-name": "nosuch", iothread: "io0" })).toBe("Failed to find node with node-name='nosuch'");
    expect(f.err("x-blockdev-set-iothread", { "node-name": "top", iothread: "nosuch" })).toBe("Cannot find iothread nosuch");
    f.ok("x-blockdev-set-iothread", { "node-name": "top", iothread: null });
    expect(ctx(base, "top")).toBe("main");
  });

  it("a fixed-iothread export pins its node; others follow it or are ignored", () => {
    f.ok("blockdev-add", { driver: "null-co", "node-name": "n0" });
    expect(f.err("block-export-add", { type: "nbd", id: "e0", "node-name": "n0", iothread: "nosuch" })).toBe('iothread "nosuch" not found');
    f.ok("block-export-add", { type: "nbd", id: "e0", "node-name": "n0", iothread: "io0", "fixed-iothread": true });
    expect(f.err("x-blockdev-set-iothread", { "node-name": "n0", iothread: "io1" })).toBe(
      "Node n0 is associated with a BlockBackend and could be in use (use force=true to override this check)",
    );
    expect(f.err("x-blockdev-set-iothread", { "node-name": "n0", iothread: "io1", force: true })).toBe("Cannot change iothread of active block backend");
    // Without fixed-iothread the refusal is ignored and the export runs where the node is.
    f.ok("block-export-add", { type: "nbd", id: "e1", name: "e1", "node-name": "n0", iothread: "io1" });
    expect(f.err("block-export-add", { type: "nbd", id: "e2", name: "e2", "node-name": "n0", iothread: "io1", "fixed-iothread": true })).toBe(
      "Cannot change iothread of active block backend",
    );
    expect(ctx("n0")).toBe("io0");
    // Once the pin goes, the node moves back to the main loop: the unpinned export follows it.
    f.ok("block-export-del", { id: "e0" });
    expect(ctx("n0")).toBe("main");
    f.ok("x-blockdev-set-iothread", { "node-name": "n0", iothread: "io1", force: true });
    expect(ctx("n0")).toBe("io1");
  });

  it("a reopen attaching a child from another context moves the child, else the parent, else fails", () => {
    const add = (name: string, image: string) => f.ok("blockdev-add", { driver: "qcow2", "node-name": name, file: { driver: "file", "node-name": `${name}-file`, filename: image } });
    add("a", "a.qcow2");
    add("b", "b.qcow2");
    const opts = (name: string, backing: string | null) => ({ driver: "qcow2", "node-name": name, file: `${name}-file`, backing });
    f.ok("block-export-add", { type: "nbd", id: "ea", "node-name": "a", iothread: "io0", "fixed-iothread": true });
    // b may move: it joins a's iothread with its file.
    expect(f.reopen(opts("a", "b"))).toBe("ok");
    expect([ctx("b", "a"), ctx("b-file", "a")]).toEqual(["io0", "io0"]);
    expect(f.reopen(opts("a", null))).toBe("ok");
    expect(ctx("b")).toBe("io0");
    // A pinned child: the parent moves instead; both pinned: the reopen fails.
    f.ok("block-export-add", { type: "nbd", id: "eb", "node-name": "b", iothread: "io1", "fixed-iothread": true });
    expect(f.reopen(opts("a", "b"))).toBe("Cannot change iothread of active block backend");
    f.ok("block-export-del", { id: "ea" });
    expect(f.reopen(opts("a", "b"))).toBe("ok");
    expect([ctx("a"), ctx("a-file", "a")]).toEqual(["io1", "io1"]);
  });

  it("a failed reopen transaction moves a moved parent back", () => {
    f.ok("blockdev-add", { driver: "qcow2", "node-name": "a", file: { driver: "file", "node-name": "a-file", filename: "a.qcow2" } });
    f.ok("blockdev-add", { driver: "null-co", "node-name": "n0" });
    f.ok("blockdev-add", { driver: "raw", "node-name": "r", file: "n0" });
    f.ok("block-export-add", { type: "nbd", id: "er", "node-name": "r", iothread: "io1", "fixed-iothread": true });
    expect(ctx("n0", "r")).toBe("io1");
    const reply = f.reopen({ driver: "qcow2", "node-name": "a", file: "a-file", backing: "r" }, { driver: "qcow2", "node-name": "r", file: "n0" });
    expect(reply).toBe("Cannot change the option 'driver'");
    expect([ctx("a"), ctx("a-file", "a"), ctx("r")]).toEqual(["main", "main", "io1"]);
  });

  it("a node whose last parent in an iothread goes moves back to the main loop", () => {
    f.ok("blockdev-add", { driver: "null-co", "node-name": "n0" });
    f.ok("blockdev-add", { driver: "raw", "node-name": "r", file: "n0" });
    f.ok("x-blockdev-set-iothread", { "node-name": "r", iothread: "io0" });
    expect(ctx("n0", "r")).toBe("io0");
    f.ok("blockdev-del", { "node-name": "r" });
    expect(ctx("n0")).toBe("main");
  });

  describe("where QEMU 7.2 crashes, the model does", () => {
    const crash = (command: string, args: Record<string, unknown>) => {
      try {
        f.model.execute(command, args);
      } catch (e) {
        expect(e).toBeInstanceOf(QemuWouldCrashError);
        return e as QemuWouldCrashError;
      }
      return expect.fail(`${command} did not crash`);
    };

    it("blockdev-add over a node that runs in an iothread and may move unlocks a lock it does not hold", () => {
      f.ok("blockdev-add", { driver: "null-co", "node-name": "n0" });
      f.ok("x-blockdev-set-iothread", { "node-name": "n0", iothread: "io0" });
      const e = crash("blockdev-add", { driver: "raw", "node-name": "r", file: "n0" });
      expect([e.signal, e.detail]).toEqual(["SIGABRT", "qemu: qemu_mutex_unlock_impl: Operation not permitted"]);
    });

    it("a throttle filter opened over a pinned node in an iothread is moved before it joined its group", () => {
      f.ok("object-add", { "qom-type": "throttle-group", id: "tg" });
      f.ok("blockdev-add", { driver: "null-co", "node-name": "n0" });
      f.ok("block-export-add", { type: "nbd", id: "e0", "node-name": "n0", iothread: "io0", "fixed-iothread": true });
      // A raw node is moved the same way, harmlessly.
      f.ok("blockdev-add", { driver: "raw", "node-name": "r", file: "n0" });
      expect(crash("blockdev-add", { driver: "throttle", "node-name": "t", "throttle-group": "tg", file: "n0" }).signal).toBe("SIGSEGV");
    });

    it("object-del of an iothread a node runs in: the next command that takes its lock aborts", () => {
      f.ok("blockdev-add", { driver: "null-co", "node-name": "n0" });
      f.ok("x-blockdev-set-iothread", { "node-name": "n0", iothread: "io1" });
      f.ok("object-del", { id: "io0" });
      f.ok("object-del", { id: "io1" });
      // Commands that leave the node alone go on.
      f.ok("blockdev-add", { driver: "null-co", "node-name": "n1" });
      f.ok("x-debug-query-block-graph", {});
      const c = crash("query-named-block-nodes", {});
      expect(c.signal).toBe("SIGABRT");
      expect(c.detail).toBe(DESTROYED_MUTEX_LOCKED);
      expect(f.model.quitOutcome()).toEqual({ abort: DESTROYED_MUTEX_LOCKED });
    });

    it("object-del of an iothread a qcow2 node runs in aborts on its cache-clean timer, unless the interval is 0", () => {
      f.ok("blockdev-add", { driver: "qcow2", "node-name": "a", file: { driver: "file", filename: "a.qcow2" }, "cache-clean-interval": 0 });
      f.ok("x-blockdev-set-iothread", { "node-name": "a", iothread: "io0" });
      f.ok("object-del", { id: "io0" });
      f.ok("blockdev-add", { driver: "qcow2", "node-name": "b", file: { driver: "file", filename: "b.qcow2" } });
      f.ok("x-blockdev-set-iothread", { "node-name": "b", iothread: "io1" });
      expect(crash("object-del", { id: "io1" }).detail).toMatch(/timerlist_free: Assertion `!timerlist_has_timers\(timer_list\)' failed\.$/);
    });

    it("a node attached over one in a deleted iothread's context aborts as the drain releases its lock", () => {
      f.ok("blockdev-add", { driver: "null-co", "node-name": "n0" });
      f.ok("x-blockdev-set-iothread", { "node-name": "n0", iothread: "io0" });
      f.ok("object-del", { id: "io0" });
      expect(f.err("x-blockdev-set-iothread", { "node-name": "n0", iothread: "io0" })).toBe("Cannot find iothread io0");
      expect(crash("blockdev-add", { driver: "raw", "node-name": "r", file: "n0" }).detail).toMatch(/qemu_mutex_unlock_impl: Assertion `mutex->initialized' failed\.$/);
    });
  });
});
