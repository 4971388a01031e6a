/**
 * luks for the differential generator. qemu-img spends seconds of CPU timing PBKDF2 for every LUKS
 * image (whatever iter-time says), so only a small share of the sequences (chosen by their own
 * PRNG, as io and iothread sequences are) start with one, and a luks node on it; in every sequence
 * luks nodes are drawn, over that image when it exists and otherwise over files that are no LUKS
 * volume, with the right secret, a wrong one, another kind of object or none. Every sequence
 * starts with the two secrets.
 */
import { Prng } from "../../src/fuzz/prng.js";
import { imageLayout } from "../../src/engines/model/images/write-image.js";
import { luksRandomFields, type LuksRandomField } from "../../src/engines/model/images/luks-random-fields.js";
import { formatNodeStart, maybeReadOnly } from "./gen-add.js";
import type { GenState, LiveView } from "./gen-state.js";
import { qmp, type ImageStep, type QmpStep, type Step } from "./steps.js";

const LUKS_SEED_SALT = 0x1c5e4a;
const LUKS_SEQUENCE_SHARE = 0.07;
const SECRET = { id: "lukssec", props: { data: "hunter2" } };
const WRONG_SECRET = { id: "lukswrong", props: { data: "hunter3" } };

export const LUKS_IMAGE = "gen.luks";

/**
 * What a luks node's query reply holds that qemu-img drew at random (the UUID) or timed on the host
 * (the iteration counts), in reply JSON as the comparisons print it: masked on both sides.
 */
export const LUKS_REPLY_RANDOM = /"uuid": ?"[0-9a-f-]{36}"|"(?:master-key-)?iters": ?\d+/g;

/** The LUKS image a luks sequence starts with (after the standard images). */
export const LUKS_IMAGE_STEP: ImageStep = {
  kind: "image",
  spec: { path: LUKS_IMAGE, format: "luks", size: 1 << 20, createOptions: [["key-secret", SECRET.id], ["iter-time", "10"]], secrets: [SECRET] },
};

/**
 * What sequence `seed` starts with for luks, after the standard images: one LUKS image in a share of
 * the sequences, then (in every sequence) the right secret and a wrong one, then a luks node on the
 * image where there is one.
 */
export function luksPrologue(seed: number): Step[] {
  const image = new Prng((seed ^ LUKS_SEED_SALT) >>> 0).chance(LUKS_SEQUENCE_SHARE) ? [LUKS_IMAGE_STEP] : [];
  const secrets = [SECRET, WRONG_SECRET].map((s) => qmp("object-add", { "qom-type": "secret", id: s.id, ...s.props }));
  // A luks node the generated commands find in place (to reopen, export, stack on, delete).
  const node = qmp("blockdev-add", { driver: "luks", "node-name": "lkp", "key-secret": SECRET.id, file: { driver: "file", filename: `$TEST_DIR/${LUKS_IMAGE}` } });
  return image.length > 0 ? [...image, ...secrets, node] : secrets;
}

/** blockdev-add of a luks node: mostly over the LUKS image (missing outside luks sequences), with the right secret. */
export function luksNode(rng: Prng, state: GenState, view: LiveView): QmpStep {
  const d = formatNodeStart(rng, state, view, "luks", [LUKS_IMAGE], "lk", 0.8);
  const r = rng.next();
  if (r < 0.75) d["key-secret"] = SECRET.id;
  else if (r < 0.85) d["key-secret"] = WRONG_SECRET.id;
  else if (r < 0.92) d["key-secret"] = rng.pick(["nosuch", ...state.throttleGroups, ...state.iothreads]);
  return qmp("blockdev-add", maybeReadOnly(rng, d, 0.3));
}

let imageFields: LuksRandomField[] | undefined;

/**
 * `bytes` of the file at `path` with the LUKS image's random fields zeroed, where its spec puts
 * them: by the layout rather than by the header found in the file, since the sequence may have
 * overwritten the header (through its file node) and left both engines' random key material behind.
 */
export function maskLuksImage(path: string, bytes: Buffer): Buffer {
  if (path !== LUKS_IMAGE) return bytes;
  imageFields ??= luksRandomFields(imageLayout(LUKS_IMAGE_STEP.spec).chunks.find((c) => c.offset === 0)!.bytes);
  for (const f of imageFields) bytes.fill(0, Math.min(bytes.length, f.offset), Math.min(bytes.length, f.offset + f.length));
  return bytes;
}
