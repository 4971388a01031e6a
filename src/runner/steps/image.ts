/** `image PATH FORMAT SIZE [backing=FILE] [backing-fmt=FMT] [data-file=FILE]` → engine.createImage. */
import path from "node:path";
import { BlockcheckError } from "../../errors.js";
import type { ImageStatement } from "../../language/ast.js";
import { IMAGE_FORMAT_OPTIONS, IMAGE_FORMATS } from "../../language/schema.js";
import type { ImageSpec } from "../../engines/engine.js";
import { ImageCreateError } from "../../engines/errors.js";
import type { StepContext } from "../context.js";
import { StepError } from "../errors.js";
import { normalizePlain } from "../graph-state.js";
import { scratchPath } from "../scratch-path.js";
import { finish, type StepResult } from "./step.js";

type Format = string;

/** Creation options that name a secret object. */
const SECRET_OPTIONS = ["key-secret", "encrypt.key-secret"];

export async function imageStep(ctx: StepContext, stmt: ImageStatement, formats: Map<string, Format>): Promise<StepResult> {
  const rel = stmt.path.value;
  const abs = scratchPath(ctx.workdir, rel, stmt.path.location);
  const format = asFormat(stmt.format.name, stmt.format.location);
  // The checker (rules/image-size.ts) refuses a size that is still a word once substituted.
  if (stmt.size.type !== "number") throw new StepError(`image size '${stmt.size.value}' is not a number of bytes`, stmt.size.location);
  const spec: ImageSpec = { path: path.relative(ctx.workdir, abs), format, size: stmt.size.value };
  for (const opt of stmt.options) {
    // qemu-img -o values are text: on/off and sizes (1M) go to it as written.
    const v = opt.value;
    const value = v.type === "word" || v.type === "string" ? v.value : v.type === "bool" || v.type === "number" ? v.raw : undefined;
    if (value === undefined) throw new StepError(`image option '${opt.key}' takes a file name or format`, opt.value.location);
    if (opt.key === "backing") {
      const backingAbs = scratchPath(ctx.workdir, path.join(path.dirname(spec.path), value), opt.value.location);
      spec.backingFile = value;
      spec.backingFormat ??= formats.get(path.relative(ctx.workdir, backingAbs));
    } else if (opt.key === "backing-fmt" || opt.key === "backing_fmt") {
      spec.backingFormat = asFormat(value, opt.value.location);
    } else if (opt.key === "data-file") {
      if (format !== "qcow2") throw new StepError("only a qcow2 image can have a data-file", opt.keyLocation);
      // Relative to the scratch directory, not to the image: QEMU opens it from its working directory.
      spec.dataFile = path.relative(ctx.workdir, scratchPath(ctx.workdir, value, opt.value.location));
    } else if (IMAGE_FORMAT_OPTIONS[format]!.includes(opt.key)) {
      spec.createOptions = [...(spec.createOptions ?? []), [opt.key, value]];
      // qemu-img looks the named secret up among its --object secrets.
      if (SECRET_OPTIONS.includes(opt.key)) addSecret(ctx, spec, value);
    } else {
      throw new StepError(`unknown option '${opt.key}' for a ${format} image`, opt.keyLocation);
    }
  }
  if (spec.backingFile !== undefined) spec.backingFormat ??= "qcow2";
  try {
    await ctx.engine.createImage(spec);
  } catch (e) {
    if (!(e instanceof BlockcheckError)) throw e;
    const desc = e instanceof ImageCreateError ? e.reason : e.message;
    return finish(ctx, stmt, { ok: false, desc: normalizePlain(ctx, desc) }, []);
  }
  formats.set(spec.path, format);
  return finish(ctx, stmt, { ok: true }, []);
}

/** The run's secret `id` (after the secret its `keyid` names) into the spec, once; an unknown id is qemu-img's error to give. */
function addSecret(ctx: StepContext, spec: ImageSpec, id: string): void {
  const props = ctx.secrets.get(id);
  if (!props || spec.secrets?.some((s) => s.id === id)) return;
  if (props["keyid"] !== undefined) addSecret(ctx, spec, props["keyid"]);
  spec.secrets = [...(spec.secrets ?? []), { id, props }];
}

function asFormat(name: string, location: ImageStatement["location"]): Format {
  if (!IMAGE_FORMATS.includes(name)) {
    throw new StepError(`image format must be one of ${IMAGE_FORMATS.join(", ")}, not '${name}'`, location);
  }
  return name;
}
