/**
 * Values in `expect node NODE KEY=VALUE`, read by the property's type, and reply values written back
 * in the same syntax (for `show node` and for "expected …, got …"). The checker and the runner read
 * values with the same function, so a value the checker accepts is the value the runner compares.
 *
 * - a boolean property takes on/off/true/false; a number, a number with a size suffix (`1M`);
 * - a string or enum property takes a word, a string, or a number or on/off as written (an enum
 *   such as detect-zeroes has the value `on`); an enum's value must be one of its values;
 * - `null` stands for a member the reply leaves out (`backing-file=null`: no backing file).
 */
import type { Value } from "./ast.js";
import type { NodeProperty } from "./node-properties.js";
import { sizeNotes } from "./size-hint.js";

/** What a value expects: a JSON scalar at the property's path, or nothing there. */
export type ExpectedValue = { absent: true } | { absent: false; value: boolean | number | string };

/** A value that does not fit its property: the message and notes of the checker's diagnostic. */
export interface ValueProblem {
  message: string;
  notes: string[];
}

/** Reads `value` as a value of `property` (written as `key`). */
export function readExpected(property: NodeProperty, key: string, value: Value): ExpectedValue | ValueProblem {
  if (value.type === "null") {
    return property.optional ? { absent: true } : { message: `'${key}' is always in the reply: it cannot be null`, notes: [] };
  }
  switch (property.kind) {
    case "object":
      return {
        message: `'${key}' is an object: expect node compares single values`,
        notes: [`name one of its members: ${property.members!.map((m) => `${key}.${m}`).join(", ")}`],
      };
    case "list":
      return { message: `'${key}' is a list: expect node compares single values`, notes: [`name an element's member, as in '${key}.0.…'`] };
    case "bool":
      if (value.type === "bool") return { absent: false, value: value.value };
      return { message: `'${key}' is a boolean: write on or off`, notes: [] };
    case "int":
    case "number":
      if (value.type === "number") return { absent: false, value: value.value };
      return { message: `'${key}' is a number`, notes: value.type === "word" ? sizeNotes(value.value) : [] };
    case "str":
    case "enum":
    case "any": {
      const text = scalarText(value);
      if (text === undefined) return { message: `'${key}' is a string: write a word or "text"`, notes: [] };
      if (property.values && !property.values.includes(text)) {
        return { message: `'${key}' has no value '${text}'`, notes: [`'${key}' is one of ${property.values.join(", ")}`] };
      }
      return { absent: false, value: text };
    }
  }
}

/** The text of a value written for a string property, or undefined for values that are not one. */
function scalarText(v: Value): string | undefined {
  switch (v.type) {
    case "word":
    case "string":
      return v.value;
    case "number":
    case "bool":
      return v.raw;
    default:
      return undefined;
  }
}

/** Whether a reply value (strings already normalized) is what was expected. */
export function sameValue(expected: ExpectedValue, actual: unknown): boolean {
  if (expected.absent) return actual === undefined;
  return actual === expected.value;
}

/** Characters a bare word may hold (the grammar's WordChar). */
const WORD = /^[A-Za-z0-9_.+$@%~*/:-]+$/;

/**
 * A reply scalar as a scenario writes it: on/off for booleans, numbers in bytes, strings as bare
 * words where readExpected reads them back as the same string (`on` too: a string property takes
 * on/off as written), else quoted; `null` when absent. `boolStyle` keeps true/false for someone
 * who wrote those.
 */
export function writeScalar(actual: unknown, boolStyle: "on/off" | "true/false" = "on/off"): string {
  if (actual === undefined || actual === null) return "null";
  if (typeof actual === "boolean") return boolStyle === "on/off" ? (actual ? "on" : "off") : String(actual);
  if (typeof actual === "number") return String(actual);
  if (typeof actual === "string") {
    const bare = WORD.test(actual) && actual !== "null" && !actual.includes("->");
    return bare ? actual : JSON.stringify(actual);
  }
  return JSON.stringify(actual);
}
