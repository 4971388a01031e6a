/**
 * Golden files on a file system that fails: each failure is the golden's result naming the file,
 * never an exception; writes are fsync'd before the rename; temporary files are never left behind,
 * and those of a writer that died are swept. Failures are injected into node:fs/promises and, for
 * the synchronous golden read, node:fs (the tests run as root, where chmod would not stop a write),
 * or come from a path under a regular file.
 */
import { spawnSync } from "node:child_process";
import * as realFs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { promotePending } from "../../src/golden/accept.js";
import { checkGolden, type GoldenCheckOptions } from "../../src/golden/check.js";
import { sweepStaleTemps, writeAtomic } from "../../src/golden/store.js";

const faults = vi.hoisted(() => ({
  /** Operation → errno code to fail it with, for paths containing `under`. */
  fail: new Map<string, string>(),
  under: "",
  log: [] as string[],
  /** The strerror text of each injected code, as node words it. */
  messages: { ENOSPC: "no space left on device", EROFS: "read-only file system", EACCES: "permission denied" } as Record<string, string>,
}));

vi.mock("node:fs", async (importOriginal) => {
  const real = await importOriginal<typeof import("node:fs")>();
  const check = (p: unknown) => {
    const code = faults.fail.get("read");
    if (code && String(p).includes(faults.under)) {
      throw Object.assign(new Error(`${code}: ${faults.messages[code]}, open '${String(p)}'`), { code, syscall: "open", path: String(p) });
    }
  };
  const readFileSync = ((p: string, o: never) => (check(p), real.readFileSync(p, o))) as typeof real.readFileSync;
  // A golden is looked up (stat) before it is read: the injected fault fails both, as EACCES on its
  // directory would.
  const statSync = ((p: string, o: never) => (check(p), real.statSync(p, o))) as typeof real.statSync;
  return { ...real, default: { ...real, readFileSync, statSync }, readFileSync, statSync };
});

vi.mock("node:fs/promises", async (importOriginal) => {
  const real = await importOriginal<typeof import("node:fs/promises")>();
  const check = (op: string, p: unknown) => {
    const code = faults.fail.get(op);
    if (code && String(p).includes(faults.under)) {
      throw Object.assign(new Error(`${code}: ${faults.messages[code]}, ${op} '${String(p)}'`), { code, syscall: op, path: String(p) });
    }
  };
  const name = (p: unknown) => path.basename(String(p)).replace(/\.\d+-[0-9a-f]{12}\.tmp$/, ".TMP");
  return {
    ...real,
    rename: async (a: string, b: string) => (faults.log.push(`rename ${name(a)} ${name(b)}`), check("rename", b), real.rename(a, b)),
    // Node's rm looks the file up first, so a missing file is ENOENT even on a read-only file system.
    rm: async (p: string, o: never) => {
      if (await real.lstat(p).then(() => true, () => false)) check("unlink", p);
      return real.rm(p, o);
    },
    open: async (p: string, flags: string, mode?: number) => {
      if (flags !== "r") check("open", p);
      const handle = await real.open(p, flags, mode);
      faults.log.push(`open ${name(p)}`);
      return new Proxy(handle, {
        get(target, prop) {
          if (prop === "writeFile") return async (data: string) => (check("write", p), faults.log.push(`write ${name(p)}`), target.writeFile(data));
          if (prop === "sync") return async () => (faults.log.push(`sync ${name(p)}`), target.sync());
          const v = Reflect.get(target, prop, target) as unknown;
          return typeof v === "function" ? v.bind(target) : v;
        },
      });
    },
  };
});

let root: string;
beforeEach(async () => {
  root = await realFs.mkdtemp(path.join(os.tmpdir(), "bc-golden-fs-"));
  faults.fail.clear();
  faults.under = root;
  faults.log.length = 0;
});
afterEach(async () => {
  faults.fail.clear();
  await realFs.rm(root, { recursive: true, force: true });
});

function opts(over: Partial<GoldenCheckOptions> = {}): GoldenCheckOptions {
  return {
    goldenRoot: path.join(root, "golden"),
    golden: { name: "reopen/detach", bindings: [] },
    engine: "model",
    actual: "a\nb\n",
    update: false,
    ci: false,
    color: false,
    cwd: root,
    scenarioArg: "tests/scenarios/reopen/detach.scn",
    ...over,
  };
}
const golden = () => path.join(root, "golden/reopen/detach.out");
const listing = async () => (await realFs.readdir(path.join(root, "golden/reopen")).catch(() => [])).sort();

describe("golden files on a failing file system", () => {
  it("a golden is fsync'd before it is renamed into place, and its directory after", async () => {
    await writeAtomic(golden(), "x\n");
    expect(faults.log).toEqual([
      "open .detach.out.TMP",
      "write .detach.out.TMP",
      "sync .detach.out.TMP",
      "rename .detach.out.TMP detach.out",
      "open reopen",
      "sync reopen",
    ]);
  });

  it("ENOSPC while writing a golden is that golden's error, naming it; no temporary file stays", async () => {
    faults.fail.set("write", "ENOSPC");
    expect(await checkGolden(opts({ update: true }))).toEqual({
      status: "error",
      file: "golden/reopen/detach.out",
      message: "cannot write golden/reopen/detach.out: no space left on device (ENOSPC)",
    });
    expect(await listing()).toEqual([]);
  });

  it("a read-only golden directory: a mismatch keeps its diff and says why there is no .out.bad", async () => {
    await writeAtomic(golden(), "a\nB\n");
    faults.fail.set("open", "EROFS");
    faults.fail.set("unlink", "EROFS");
    const r = await checkGolden(opts());
    expect(r).toMatchObject({
      status: "mismatch",
      file: "golden/reopen/detach.out",
      badError: "cannot write golden/reopen/detach.out.bad: read-only file system (EROFS)",
    });
    expect(r.status === "mismatch" && r.diff).toContain("-B\n+b");
    expect(await checkGolden(opts({ update: true }))).toMatchObject({ status: "error", message: expect.stringContaining("(EROFS)") });
    // A matching golden still passes: there is no stale .out.bad to remove.
    expect(await checkGolden(opts({ actual: "a\nB\n" }))).toEqual({ status: "match", file: "golden/reopen/detach.out" });
    expect(await listing()).toEqual(["detach.out"]);
  });

  it("EACCES reading a golden is that golden's error", async () => {
    await writeAtomic(golden(), "a\nb\n");
    faults.fail.set("read", "EACCES");
    // The engine-specific golden is looked for first.
    expect(await checkGolden(opts())).toEqual({
      status: "error",
      file: "golden/reopen/detach.model.out",
      message: "cannot read golden/reopen/detach.model.out: permission denied (EACCES)",
    });
  });

  it("a golden root under a regular file is an error naming the directory", async () => {
    await realFs.writeFile(path.join(root, "file"), "");
    const r = await checkGolden(opts({ update: true, goldenRoot: path.join(root, "file/golden") }));
    expect(r).toEqual({
      status: "error",
      file: "file/golden/reopen/detach.model.out",
      message: "cannot read file/golden/reopen/detach.model.out: not a directory (ENOTDIR)",
    });
  });

  it("sweeps temporary files whose writer is gone, and keeps those of a live one", async () => {
    const dead = spawnSync("true").pid;
    const dir = path.join(root, "golden/sub");
    await realFs.mkdir(dir, { recursive: true });
    const names = [`.a.out.${dead}-0123456789ab.tmp`, `.a.out.${process.pid}-0123456789ab.tmp`, ".b.out.bad.0123456789ab.tmp", "a.out", ".c.out"];
    for (const n of names) await realFs.writeFile(path.join(dir, n), "");
    const removed = await sweepStaleTemps(path.join(root, "golden"));
    expect(removed.map((f) => path.basename(f))).toEqual([".a.out." + dead + "-0123456789ab.tmp", ".b.out.bad.0123456789ab.tmp"].sort());
    expect((await realFs.readdir(dir)).sort()).toEqual([`.a.out.${process.pid}-0123456789ab.tmp`, ".c.out", "a.out"].sort());
  });

  it("accept on a read-only golden directory is a configuration error (exit 2) naming the file", async () => {
    await writeAtomic(golden() + ".bad", "new\n");
    faults.fail.set("rename", "EROFS");
    await expect(promotePending({ file: golden() + ".bad", golden: golden() })).rejects.toMatchObject({
      code: "E_CONFIG",
      message: `cannot rename ${golden()}.bad to ${golden()}: read-only file system (EROFS)`,
    });
  });
});
