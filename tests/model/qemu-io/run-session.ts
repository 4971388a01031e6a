/** Running one session of sessions.ts on an engine, the same way for recording and for the test. */
import type { Engine } from "../../../src/engines/engine.js";
import type { Session } from "./sessions.js";

/** What a session gave: each step's reply or output, and (filled by the caller) its images. */
export interface SessionRecord {
  title: string;
  steps: ({ qmp: string; reply: unknown } | { io: string; command: string; output: string })[];
  images: Record<string, { sha256: string; check: string }>;
}

/** `$W` → the scratch directory, in every string of a value. */
function withDir(value: unknown, dir: string): unknown {
  if (typeof value === "string") return value.replaceAll("$W", dir);
  if (Array.isArray(value)) return value.map((v) => withDir(v, dir));
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withDir(v, dir)]));
  return value;
}

export async function runSession(engine: Engine, session: Session, workdir: string): Promise<SessionRecord> {
  const record: SessionRecord = { title: session.title, steps: [], images: {} };
  for (const image of session.images) await engine.createImage(image);
  for (const step of session.steps) {
    if ("qmp" in step) {
      const reply = await engine.qmp(step.qmp, withDir(step.args ?? {}, workdir) as Record<string, unknown>);
      record.steps.push({ qmp: step.qmp, reply: JSON.parse(JSON.stringify(reply).replaceAll(workdir, "$W")) });
    } else {
      const output = await engine.io(step.io, step.command);
      record.steps.push({ io: step.io, command: step.command, output: output.replaceAll(workdir, "$W") });
    }
  }
  return record;
}
