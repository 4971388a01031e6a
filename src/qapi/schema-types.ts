/**
 * The shape of the QAPI schema table blockcheck carries (src/qapi/generated/qmp-schema.ts).
 *
 * It is QEMU's own `query-qmp-schema` introspection, trimmed to the commands blockcheck uses: type
 * names are QEMU's introspection names (numbers for everything but commands and built-ins), member
 * order is QEMU's, which is also the order its input visitor checks members in.
 */

/** A member of an object type. */
export interface SchemaMember {
  name: string;
  /** Name of the member's type in the table. */
  type: string;
  /** True when the member may be absent (QAPI `*name`). */
  optional: boolean;
  /**
   * For integer members that are not int64: the QAPI integer type, which changes the visitor's
   * checks (unsigned types accept negative numbers; sized ones have a range). Found by probing the
   * daemon, since introspection calls every integer "int".
   */
  int?: "int8" | "int16" | "int32" | "uint8" | "uint16" | "uint32" | "uint64";
}

/** A struct, or a flat union when `tag` is set (the tag is one of `members`). */
export interface SchemaObject {
  kind: "object";
  members: SchemaMember[];
  /** Discriminator member of a flat union. */
  tag?: string;
  /** Branch type for each tag value; a value without a branch has no extra members. */
  variants?: Record<string, string>;
}

/** An enumeration, values in schema order. */
export interface SchemaEnum {
  kind: "enum";
  values: string[];
}

/** A list type. */
export interface SchemaArray {
  kind: "array";
  element: string;
}

/**
 * An alternate: the JSON type of the value picks the branch. `name` is the QAPI type name, which QEMU
 * prints in "Invalid parameter type for '%s', expected: %s" (introspection itself hides it).
 */
export interface SchemaAlternate {
  kind: "alternate";
  name: string;
  members: string[];
}

/** A built-in type; `json` is the introspection's json-type. */
export interface SchemaBuiltin {
  kind: "builtin";
  json: "string" | "int" | "boolean" | "null" | "value" | "number";
}

export type SchemaType = SchemaObject | SchemaEnum | SchemaArray | SchemaAlternate | SchemaBuiltin;

/**
 * A command: its argument type (always an object type), its return type when the table keeps it
 * (scripts/qapi-schema-codegen.ts says for which commands), and its introspection features.
 */
export interface SchemaCommand {
  arg: string;
  ret?: string;
  features?: string[];
}

/** The whole table. */
export interface QapiSchema {
  /** QEMU version the table was taken from, e.g. "7.2.22". */
  qemu: string;
  commands: Record<string, SchemaCommand>;
  types: Record<string, SchemaType>;
}
