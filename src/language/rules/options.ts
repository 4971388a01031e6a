/**
 * Option keys must be the driver's (QAPI BlockdevOptions), with inline children checked against
 * their own driver; `image` and `export` take their own short lists. A statement written to fail
 * may pass anything.
 */
import type { ExportStatement, OptionNode } from "../ast.js";
import { error, type Diagnostic } from "../diagnostic.js";
import { EXPORT_OPTIONS, IMAGE_FORMAT_OPTIONS, IMAGE_OWN_OPTIONS, type SchemaView } from "../schema.js";
import { expectsError, steps } from "../walk.js";
import type { Rule } from "./rule.js";
import { sizeCorrection, sizeNotes } from "../size-hint.js";
import { suggest } from "./suggest.js";

export const unknownOption: Rule = {
  name: "unknown-option",
  on: "expansion",
  check({ scenario, schema }) {
    const out: Diagnostic[] = [];
    const drivers = new Set(schema.listDrivers());
    const driverOf = new Map<string, string>();
    for (const s of steps(scenario)) {
      if (s.type === "add") driverOf.set(s.name.name, s.driver.name);
      if (expectsError(s)) continue;
      if (s.type === "add" && drivers.has(s.driver.name)) checkDriverOptions(s.driver.name, s.options, schema, out);
      if (s.type === "image" && IMAGE_FORMAT_OPTIONS[s.format.name]) {
        checkFixed(s.options, [...IMAGE_OWN_OPTIONS, ...IMAGE_FORMAT_OPTIONS[s.format.name]!], `a ${s.format.name} image`, out);
      }
      if (s.type === "export") checkExport(s, out);
      if (s.type === "reopen") {
        for (const e of s.entries) {
          const given = e.options.find((o) => o.key === "driver")?.value;
          const driver = given?.type === "word" ? given.value : e.node.path.length === 0 ? driverOf.get(e.node.root) : undefined;
          const rest = e.options.filter((o) => o.key !== "driver");
          if (driver && drivers.has(driver)) checkDriverOptions(driver, rest, schema, out);
        }
      }
    }
    return out;
  },
};

/** Checks `options` against `driver`; keys below a child (`file.filename`) against the child's driver. */
export function checkDriverOptions(driver: string, options: readonly OptionNode[], schema: SchemaView, out: Diagnostic[]): void {
  for (const o of options) {
    const [head, ...tail] = o.key.split(".");
    const headInfo = schema.lookupOption(driver, head!);
    if (tail.length > 0 && headInfo?.kind === "child") {
      // `file.filename=x`: the child's driver is whatever `file.driver=` says, if anything.
      const childDriver = options.find((x) => x.key === `${head}.driver`)?.value;
      const sub = tail.join(".");
      if (childDriver?.type === "word" && sub !== "driver" && !schema.lookupOption(childDriver.value, sub)) {
        out.push(unknown(o, childDriver.value, schema.optionKeys(childDriver.value).map((k) => `${head}.${k}`)));
      }
      continue;
    }
    const info = headInfo && tail.length > 0 ? schema.lookupOption(driver, o.key) : headInfo;
    if (!info || o.key === "driver" || o.key === "node-name") {
      out.push(unknown(o, driver, schema.optionKeys(driver).filter((k) => k !== "driver" && k !== "node-name")));
      continue;
    }
    if (o.value.type === "word" && info.kind === "scalar" && info.scalar === "int" && sizeCorrection(o.value.value)) {
      // QEMU would refuse it ("Invalid parameter type … expected: integer") in a step not written to fail.
      out.push(error(`'${o.value.value}' is not a size`, o.value.location, sizeNotes(o.value.value)));
      continue;
    }
    if (o.value.type === "child") {
      if (info.kind !== "child") {
        out.push(error(`option '${o.key}' of driver '${driver}' is not a child: it cannot take an inline node`, o.value.location));
      } else {
        checkDriverOptions(o.value.driver.name, o.value.options, schema, out);
      }
    }
  }
}

function unknown(o: OptionNode, driver: string, keys: string[]): Diagnostic {
  const why =
    o.key === "driver" || o.key === "node-name"
      ? [`the ${o.key === "driver" ? "driver" : "node name"} is written before the options: 'add NAME: DRIVER …'`]
      : suggest(o.key, keys);
  return error(`unknown option '${o.key}' for driver '${driver}'`, o.keyLocation, why);
}

/** Options of block-export-add for nbd; the node and the type are not options here. */
function checkExport(s: ExportStatement, out: Diagnostic[]): void {
  const misplaced: Record<string, string> = {
    "node-name": "the node is written after 'export': 'export NODE …'",
    type: "export makes NBD exports: the type is always nbd",
  };
  for (const o of s.options) {
    const why = misplaced[o.key];
    if (why) out.push(error(`option '${o.key}' is not written for export`, o.keyLocation, [why]));
    else if (o.key === "writable" && s.writable) out.push(error("'writable' is given twice", o.keyLocation));
  }
  checkFixed(
    s.options.filter((o) => !(o.key in misplaced)),
    EXPORT_OPTIONS,
    "export",
    out,
  );
}

function checkFixed(options: readonly OptionNode[], allowed: readonly string[], what: string, out: Diagnostic[]): void {
  for (const o of options) {
    if (!allowed.includes(o.key)) {
      out.push(
        error(`unknown option '${o.key}' for ${what}`, o.keyLocation, [
          ...suggest(o.key, allowed),
          `${what} takes ${allowed.join(", ")}`,
        ]),
      );
    }
  }
}
