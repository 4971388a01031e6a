/**
 * Debian's 7.2.22 qemu-img fails a LUKS create with "Unable to get accurate CPU usage" whenever its
 * first PBKDF2 timing round reads no CPU time (a backported sanity check that upstream later
 * relaxed). On a busy 2-CPU machine a quarter of all creates failed that way, and five tries in a
 * row failing was seen: createImage tries until the odds of that are negligible.
 */
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { QemuImgError } from "../../src/engines/qemu/errors.js";
import { createImage } from "../../src/engines/qemu/images.js";

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A qemu-img that reports the CPU clock fluke `failures` times, then makes the image. */
function flakyQemuImg(failures: number): { binary: string; dir: string } {
  const dir = mkdtempSync(path.join(tmpdir(), "bc-cpu-clock-"));
  dirs.push(dir);
  const binary = path.join(dir, "qemu-img");
  const count = path.join(dir, "count");
  writeFileSync(
    binary,
    `#!/bin/sh
n=$(cat "${count}" 2>/dev/null || echo 0)
echo $((n + 1)) > "${count}"
if [ "$n" -lt ${failures} ]; then echo "qemu-img: gen.luks: Unable to get accurate CPU usage" >&2; exit 1; fi
: > gen.luks; exit 0
`,
  );
  chmodSync(binary, 0o755);
  return { binary, dir };
}

// An image with a backing file is qemu-img's, not written in-process; every qemu-img create
// goes through the same tries.
const spec = { path: "gen.luks", format: "qcow2", size: 65536, backingFile: "b.qcow2", backingFormat: "qcow2" } as const;

describe("qemu-img's CPU clock fluke", () => {
  it("is tried again, beyond five failures in a row", async () => {
    const { binary, dir } = flakyQemuImg(12);
    await createImage(spec, { binary, workdir: dir, timeoutMs: 10_000 });
    expect(existsSync(path.join(dir, "gen.luks"))).toBe(true);
  });

  it("still fails, with qemu-img's words, when it never stops", async () => {
    const { binary, dir } = flakyQemuImg(1_000);
    const error = await createImage(spec, { binary, workdir: dir, timeoutMs: 10_000 }).catch((x: unknown) => x);
    expect(error).toBeInstanceOf(QemuImgError);
    expect((error as Error).message).toMatch(/Unable to get accurate CPU usage/);
  });
});
