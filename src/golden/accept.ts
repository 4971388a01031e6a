/**
 * Promoting a pending file (`.out.bad`, `.out.new`) to its golden: an atomic rename, after which
 * its provenance record goes too. Whether it may be promoted is source.ts's question; this only
 * does it.
 */
import { rename } from "node:fs/promises";
import { onFile } from "../file-errors.js";
import { recordPath, removePending, type PendingFile } from "./pending.js";
import { removeIfExists } from "./store.js";

/** Rename `p.file` over its golden and remove its record (and any other pending file of that golden). */
export async function promotePending(p: Pick<PendingFile, "file" | "golden">): Promise<void> {
  await onFile(`rename ${p.file} to`, p.golden, () => rename(p.file, p.golden));
  await removeIfExists(recordPath(p.file));
  await removePending(p.golden);
}
