/**
 * The whole generation, from a daemon binary to the module text: introspection, integer probing,
 * rendering. Used by scripts/gen-qapi-schema.ts and by the test that the checked-in table is fresh.
 */
import { classifyIntegers } from "./qapi-int-widths.js";
import { askQsd, fetchIntrospection } from "./qapi-introspect.js";
import { renderSchemaModule, schemaFromIntrospection } from "./qapi-schema-codegen.js";

export async function generateSchemaModule(qsd: string): Promise<{ version: string; text: string }> {
  const { version, entries } = await fetchIntrospection(qsd);
  const plain = schemaFromIntrospection(entries, version);
  const intKinds = await classifyIntegers(plain, (requests) => askQsd(qsd, requests));
  return { version, text: renderSchemaModule(schemaFromIntrospection(entries, version, intKinds)) };
}
