/**
 * Sequence files (hand-written input, JSON) and fixture files (a recorded run, JSON Lines).
 *
 * A sequence is `{title, source?, images?, steps}`; without `images` it gets the standard set. A
 * fixture's first line is `{"kind":"meta",…}`, then one recorded step per line: image creations
 * first, then each command with QEMU's reply and the events it caused.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { BlockcheckError } from "../../src/errors.js";
import { image, type ImageStep, type RecordedStep, type Step } from "./steps.js";

/** A sequence or fixture file that cannot be read as one. */
export class FixtureFormatError extends BlockcheckError {
  constructor(file: string, line: number, message: string) {
    super("E_FIXTURE_FORMAT", `${file}:${line}: ${message}`);
  }
}

export interface Sequence {
  title: string;
  source?: string;
  images?: ImageStep[];
  steps: Step[];
}

export interface FixtureMeta {
  kind: "meta";
  name: string;
  title: string;
  /** The QEMU that answered, e.g. "7.2.22". */
  qemu: string;
}

export interface Fixture {
  meta: FixtureMeta;
  steps: RecordedStep[];
}

/** Images every sequence gets unless it lists its own (names as in QEMU 7.2 behaviour notes). */
export const STANDARD_IMAGES: readonly ImageStep[] = [
  image("raw.img", "raw", 1 << 20),
  image("raw2.img", "raw", 1 << 20),
  // 1000 bytes (qemu-img rounds to 1024): not a multiple of a 4096-byte blkdebug alignment.
  image("odd.img", "raw", 1000),
  image("base.qcow2", "qcow2", 1 << 20),
  image("top.qcow2", "qcow2", 1 << 20, { file: "base.qcow2", format: "qcow2" }),
  image("other.qcow2", "qcow2", 1 << 20),
];

/** Read a hand-written sequence, with the standard images prepended when it names none. */
export function readSequence(file: string): Sequence {
  let seq: Sequence;
  try {
    seq = JSON.parse(readFileSync(file, "utf8")) as Sequence;
  } catch (e) {
    throw new FixtureFormatError(file, 1, `not a JSON sequence: ${(e as Error).message}`);
  }
  if (typeof seq.title !== "string" || !Array.isArray(seq.steps)) throw new FixtureFormatError(file, 1, "a sequence needs 'title' and 'steps'");
  return { ...seq, images: seq.images ?? [...STANDARD_IMAGES] };
}

export function writeFixture(file: string, fixture: Fixture): void {
  const lines = [fixture.meta, ...fixture.steps].map((x) => JSON.stringify(x));
  writeFileSync(file, lines.join("\n") + "\n");
}

export function readFixture(file: string): Fixture {
  const lines = readFileSync(file, "utf8").split("\n").filter((l) => l.trim() !== "");
  const parsed = lines.map((l, i) => {
    try {
      return JSON.parse(l) as { kind?: string };
    } catch (e) {
      throw new FixtureFormatError(file, i + 1, `not JSON: ${(e as Error).message}`);
    }
  });
  const [meta, ...steps] = parsed;
  if (meta?.kind !== "meta") throw new FixtureFormatError(file, 1, "the first line must be the meta line");
  steps.forEach((s, i) => {
    if (s.kind !== "image" && s.kind !== "qmp") throw new FixtureFormatError(file, i + 2, `unknown step kind '${String(s.kind)}'`);
  });
  return { meta: meta as FixtureMeta, steps: steps as RecordedStep[] };
}
