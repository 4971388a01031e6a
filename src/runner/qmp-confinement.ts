/**
 * The runner's line of defence for `qmp` (the checker's is rules/paths.ts and
 * rules/unsafe-commands.ts, at check time), and for the commands other statements build: just
 * before a command is sent, with `$TEST_DIR` replaced, every path argument must lie in the scratch
 * directory, and an unsafe command needs `require unsafe` and --allow-unsafe. A path is resolved as QEMU resolves it (relative to its
 * working directory, the scratch directory) and through any symbolic links that already exist.
 */
import { realpathSync } from "node:fs";
import path from "node:path";
import type { Location } from "../language/ast.js";
import { pathArguments } from "../qapi/path-arguments.js";
import { unsafeReason } from "../qapi/system-commands.js";
import type { StepContext } from "./context.js";
import { StepError } from "./errors.js";

/** Throws StepError (located at `at`) unless `command` with `args` stays in the scratch directory. */
export function confineQmp(ctx: StepContext, command: string, args: unknown, at: Location): void {
  const reason = unsafeReason(command, args);
  if (reason && !ctx.unsafeAllowed) {
    throw new StepError(`qmp '${command}' is unsafe: ${reason}; it runs only with 'require unsafe' and --allow-unsafe`, at);
  }
  let roots: string[] | undefined;
  for (const arg of pathArguments(command, args)) {
    const lexical = path.resolve(ctx.workdir, arg.path);
    // A scratch directory that is not on disk holds no symbolic link: what is under it by name is in it.
    if (ctx.scratchOnDisk === false && (lexical === ctx.workdir || lexical.startsWith(ctx.workdir + path.sep))) continue;
    roots ??= [ctx.workdir, ...ctx.scratchDirs].map(real);
    const target = real(lexical);
    if (!roots.some((root) => target === root || target.startsWith(root + path.sep))) {
      const shown = arg.path.split(ctx.workdir).join("$TEST_DIR");
      throw new StepError(`${command} argument ${arg.at} '${shown}' is outside the scratch directory`, at);
    }
  }
}

/** `p` with its longest existing prefix resolved through symbolic links (what exists is what QEMU would follow). */
function real(p: string): string {
  const rest: string[] = [];
  let dir = path.resolve(p);
  for (;;) {
    try {
      return path.join(realpathSync(dir), ...rest.reverse());
    } catch {
      const parent = path.dirname(dir);
      if (parent === dir) return path.join(dir, ...rest.reverse());
      rest.push(path.basename(dir));
      dir = parent;
    }
  }
}
