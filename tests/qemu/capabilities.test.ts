import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { blockdevDrivers, CapabilityCache, defaultCacheFile, parseVersion } from "../../src/engines/qemu/capabilities.js";
import { QemuEngineStateError } from "../../src/engines/qemu/errors.js";

describe("capabilities", () => {
  it("reads the version from query-version", () => {
    expect(parseVersion({ return: { qemu: { micro: 22, minor: 2, major: 7 }, package: "Debian" } })).toEqual({ major: 7, minor: 2, micro: 22 });
    expect(() => parseVersion({ error: { class: "GenericError", desc: "x" } })).toThrow(QemuEngineStateError);
  });

  it("finds BlockdevDriver through blockdev-add although type names are masked", () => {
    const schema = [
      { name: "9", "meta-type": "enum", values: ["not", "this"] },
      { name: "blockdev-add", "meta-type": "command", "arg-type": "29", "ret-type": "0" },
      { name: "29", "meta-type": "object", members: [{ name: "node-name", type: "str" }, { name: "driver", type: "106" }] },
      { name: "106", "meta-type": "enum", members: [{ name: "file" }, { name: "qcow2" }], values: ["file", "qcow2"] },
    ];
    expect(blockdevDrivers({ return: schema })).toEqual(["file", "qcow2"]);
    // Newer QEMU drops `values` in favour of `members`.
    delete (schema[3] as { values?: string[] }).values;
    expect(blockdevDrivers({ return: schema })).toEqual(["file", "qcow2"]);
    expect(() => blockdevDrivers({ return: [] })).toThrow(/no blockdev-add driver enum/);
  });

  it("fetches a binary's capabilities once, and again for another binary", async () => {
    const cache = new CapabilityCache();
    let fetches = 0;
    const fetch = async () => {
      fetches++;
      return { version: { major: 7, minor: 2, micro: 0 }, drivers: ["raw"] };
    };
    const first = await cache.get(process.execPath, fetch);
    first.drivers.push("mutated by a caller");
    expect(await cache.get(process.execPath, fetch)).toEqual({ version: { major: 7, minor: 2, micro: 0 }, drivers: ["raw"] });
    expect(fetches).toBe(1);
    await cache.get("sh", fetch); // found on PATH: a different binary
    expect(fetches).toBe(2);
    // A binary that cannot be found is never cached.
    await cache.get("/nonexistent/qemu", fetch);
    await cache.get("/nonexistent/qemu", fetch);
    expect(fetches).toBe(4);
  });

  it("keeps capabilities in its file across caches, and ignores a file it cannot use", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "bc-capabilities-"));
    try {
      const file = path.join(dir, "sub/qemu-capabilities.json");
      let fetches = 0;
      const fetch = async () => (fetches++, { version: { major: 7, minor: 2, micro: 22 }, drivers: ["qcow2", "raw"] });
      expect(await new CapabilityCache({ file }).get(process.execPath, fetch)).toEqual({ version: { major: 7, minor: 2, micro: 22 }, drivers: ["qcow2", "raw"] });
      expect(fetches).toBe(1);
      // Another process (another cache) reads the file instead of asking the binary.
      expect((await new CapabilityCache({ file }).get(process.execPath, fetch)).drivers).toEqual(["qcow2", "raw"]);
      expect(fetches).toBe(1);
      expect(Object.keys((JSON.parse(readFileSync(file, "utf8")) as { entries: object }).entries)).toHaveLength(1);

      for (const bad of ["not json", '{"format":"something else","entries":{}}', `{"format":"blockcheck qemu capabilities 1","entries":{"x":{"drivers":"raw"}}}`]) {
        writeFileSync(file, bad);
        await new CapabilityCache({ file }).get(process.execPath, fetch);
      }
      expect(fetches).toBe(4);
      // A file that cannot be written (its directory is a regular file) only costs the next run a fetch.
      const blocked = path.join(dir, "sub/qemu-capabilities.json/x.json");
      expect((await new CapabilityCache({ file: blocked }).get(process.execPath, fetch)).version.micro).toBe(22);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("keeps the default cache under XDG_CACHE_HOME, else under ~/.cache", () => {
    expect(defaultCacheFile({ XDG_CACHE_HOME: "/x" })).toBe("/x/blockcheck/qemu-capabilities.json");
    expect(defaultCacheFile({})).toBe(path.join(os.homedir(), ".cache/blockcheck/qemu-capabilities.json"));
  });
});
