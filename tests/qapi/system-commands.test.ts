/**
 * SYSTEM_ONLY_COMMANDS is what the installed qemu-system has and the daemon's schema (the model's)
 * lacks: the model refuses exactly those under `require io` as unimplemented, and answers any other
 * unknown command as QEMU does.
 */
import { execFileSync } from "node:child_process";
import { expect, it } from "vitest";
import { qmpSchema } from "../../src/qapi/generated/qmp-schema.js";
import { SYSTEM_ONLY_COMMANDS, SYSTEM_PATH_ARGUMENTS } from "../../src/qapi/system-commands.js";
import { describeWithQemu } from "../support/qemu.js";

describeWithQemu("qemu-system's own commands", () => {
  it("are the commands of the installed qemu-system-x86_64 that the daemon's schema lacks", () => {
    const input = ['{"execute":"qmp_capabilities"}', '{"execute":"query-commands"}', '{"execute":"quit"}', ""].join("\n");
    const out = execFileSync(process.env.QEMU_PROG ?? "qemu-system-x86_64", ["-M", "none", "-nodefaults", "-display", "none", "-qmp", "stdio"], { input, encoding: "utf8", timeout: 30_000 });
    const reply = out.split("\n").map((l) => (l.trim() ? (JSON.parse(l) as { return?: unknown }) : {})).find((m) => Array.isArray(m.return));
    const names = (reply!.return as Array<{ name: string }>).map((c) => c.name);
    expect(names.filter((n) => !(n in qmpSchema.commands)).sort()).toEqual([...SYSTEM_ONLY_COMMANDS].sort());
  });
});

it("lists every command that takes a host path among qemu-system's own", () => {
  for (const command of Object.keys(SYSTEM_PATH_ARGUMENTS)) expect(SYSTEM_ONLY_COMMANDS.has(command), command).toBe(true);
});
