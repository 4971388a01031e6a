/**
 * glibc's `getopt` as qemu-io's commands call it (no long options, no leading '+' or ':'): GNU
 * order, so options may follow the operands (`read 0 4k -P 0xa5` is a read with a pattern); `--`
 * ends the options; `-` alone is an operand; `-abc` is three options; `-Pxx` and `-P xx` give P its
 * argument. Complaints go to stderr in glibc's words, after the command name (argv[0]).
 */

/** One option found, in order: its letter and argument, or '?' after a complaint. */
export type Opt = { c: string; arg?: string } | { c: "?"; complaint: string };

export interface GetoptResult {
  opts: Opt[];
  /** The operands, in order (argv[optind..] after glibc's permutation). */
  operands: string[];
}

/**
 * Every option of `argv` (argv[0] is the command) against `optstring`. Scanning stops at the first
 * complaint, as the commands return on the first '?' from getopt.
 */
export function getopt(argv: readonly string[], optstring: string): GetoptResult {
  const opts: Opt[] = [];
  const operands: string[] = [];
  const name = argv[0]!;
  let i = 1;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      i++;
      break;
    }
    if (a.length < 2 || a[0] !== "-") {
      operands.push(a);
      continue;
    }
    for (let j = 1; j < a.length; j++) {
      const c = a[j]!;
      const at = optstring.indexOf(c);
      if (at < 0 || c === ":") {
        opts.push({ c: "?", complaint: `${name}: invalid option -- '${c}'` });
        return { opts, operands };
      }
      if (optstring[at + 1] !== ":") {
        opts.push({ c });
        continue;
      }
      if (j + 1 < a.length) {
        opts.push({ c, arg: a.slice(j + 1) });
      } else if (i + 1 < argv.length) {
        opts.push({ c, arg: argv[++i]! });
      } else {
        opts.push({ c: "?", complaint: `${name}: option requires an argument -- '${c}'` });
        return { opts, operands };
      }
      break;
    }
  }
  operands.push(...argv.slice(i));
  return { opts, operands };
}
