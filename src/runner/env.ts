/** What the runner reads from the environment, in one place (commands pass `io.env` in). */

/** CI mode: `CI` set to anything but "", "0" or "false". Nothing is written in CI mode. */
export function isCi(env: NodeJS.ProcessEnv): boolean {
  const v = env.CI;
  return v !== undefined && v !== "" && v !== "0" && v.toLowerCase() !== "false";
}

/** Colour on a terminal unless NO_COLOR is set; FORCE_COLOR forces it. */
export function wantsColor(env: NodeJS.ProcessEnv, isTTY: boolean | undefined): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "0") return true;
  return isTTY === true;
}
