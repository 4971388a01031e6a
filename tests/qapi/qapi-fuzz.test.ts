import { expect, it } from "vitest";
import { validateQmpCommand } from "../../src/qapi/validate.js";
import { lookupOption, optionKeys } from "../../src/qapi/blockdev-schema.js";
import { describeWithQemu } from "../support/qemu.js";
import { qsdReplies } from "../monitor/qsd-batch.js";

/**
 * Random blockdev-add / blockdev-reopen arguments for the modelled drivers, half well-typed and half
 * not, nested children included. node-name is always left out, so QEMU stops right after its QAPI
 * visitor ("'node-name' must be specified…") and opens nothing.
 */
function randomCommands(count: number, seed: number): { execute: string; arguments: Record<string, unknown> }[] {
  const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)]!;
  const drivers = ["file", "null-co", "raw", "qcow2", "copy-on-read", "throttle", "blkdebug", "preallocate", "compress", "nosuch"] as const;
  const junk: unknown[] = ["x", 1, -1, 2147483648, true, null, [], ["bad"], [1], {}, { driver: "bad" }, 1.5, { direct: 1 }];
  const wellTyped = (driver: string, key: string): unknown => {
    const info = lookupOption(driver, key);
    if (!info) return pick(junk);
    if (info.kind === "child") return rnd() < 0.8 ? "n0" : null;
    if (info.kind === "list") return info.values ? [pick(info.values)] : [];
    if (info.scalar === "enum") return pick(info.values!);
    return ({ str: "x", int: 4096, bool: true } as Record<string, unknown>)[info.scalar ?? ""] ?? pick(junk);
  };
  const options = (depth: number): Record<string, unknown> => {
    const driver = pick(drivers);
    const known = driver === "nosuch" ? [] : optionKeys(driver).filter((k) => k !== "node-name" && k !== "driver");
    const o: Record<string, unknown> = rnd() < 0.95 ? { driver } : {};
    // Mandatory children, usually, so the visitor gets past them.
    for (const child of ["file", "image", "throttle-group", "filename"]) if (known.includes(child) && rnd() < 0.8) o[child] = child === "file" || child === "image" ? "n0" : "x";
    for (let n = Math.floor(rnd() * 5); n > 0; n--) {
      const key = rnd() < 0.9 && known.length > 0 ? pick(known) : pick(["bogus", "zzz", "file", "image", "backing"]);
      const [top, sub] = key.split(".") as [string, string | undefined];
      const value = rnd() < 0.85 ? wellTyped(driver, key) : pick(junk);
      if (["file", "image", "backing", "data-file"].includes(top) && depth < 2 && rnd() < 0.4) o[top] = options(depth + 1);
      else if (sub) o[top] = { ...(o[top] as object), [sub]: value };
      else o[top] = value;
    }
    return o;
  };
  return Array.from({ length: count }, () =>
    rnd() < 0.75
      ? { execute: "blockdev-add", arguments: options(0) }
      : { execute: "blockdev-reopen", arguments: { options: Array.from({ length: 1 + Math.floor(rnd() * 2) }, () => options(1)) } },
  );
}

const VISITOR = /^(Parameter '|Invalid parameter type|QMP input)/;

describeWithQemu("QAPI validation against qemu-storage-daemon on random arguments", () => {
  it("agrees on every command", () => {
    const commands = randomCommands(400, 20261128);
    const replies = qsdReplies(commands);
    const real = replies.map((r) => {
      const desc = (r.error as { desc?: string } | undefined)?.desc;
      return desc !== undefined && VISITOR.test(desc) ? desc : "ok";
    });
    const mine = commands.map((c) => {
      const v = validateQmpCommand(c.execute, c.arguments);
      return v.ok ? "ok" : v.error.desc;
    });
    expect(mine).toEqual(real);
    // The generator must reach past the first member often enough to be worth running.
    expect(mine.filter((m) => m === "ok").length).toBeGreaterThan(100);
  });
});
