/**
 * Regenerate src/qapi/generated/qmp-schema.ts from the installed qemu-storage-daemon (or QSD_PROG):
 *
 *   npx tsx scripts/gen-qapi-schema.ts
 *
 * The daemon's own `query-qmp-schema` is the ground truth for what its QMP input visitor accepts.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { generateSchemaModule } from "./qapi-schema-source.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const out = path.join(root, "src/qapi/generated/qmp-schema.ts");

const { version, text } = await generateSchemaModule(process.env.QSD_PROG ?? "qemu-storage-daemon");
writeFileSync(out, text);
console.log(`wrote ${path.relative(root, out)} (QEMU ${version})`);
