/**
 * QEMU's QObject input visitor (qapi/qobject-input-visitor.c plus the generated visit_type_* code),
 * run over a schema table instead of generated C. It checks a JSON value against a QAPI type and
 * fails with QEMU's first error, byte for byte:
 *
 *   Parameter '%s' is missing            full path (options[0].file)
 *   Parameter '%s' is unexpected         full path; the first leftover key in GHashTable order
 *   Invalid parameter type for '%s', expected: %s
 *                                        full path, except for alternates: the bare member name
 *   Parameter '%s' does not accept value '%s'
 *                                        bare member name ('null' for list elements)
 *
 * Members are visited in schema order (a flat union's base first, so its discriminator comes
 * before the branch members); a struct's leftover keys are checked after all its members.
 */
import type { QapiSchema, SchemaAlternate, SchemaMember, SchemaObject } from "./schema-types.js";
import { qdictKeyOrder } from "./qdict-order.js";
import { GHashModel } from "./ghash-order.js";
import { QmpFloat } from "../qmp/wire.js";

/** A QAPI input error: QEMU reports all of these as GenericError. */
export class VisitError {
  constructor(readonly desc: string) {}
}

/** One step of the path to the value being visited: a member name (null for the root) or a list index. */
type Segment = { name: string | null } | { index: number };

type Json = unknown;
type IntKind = NonNullable<SchemaMember["int"]>;

const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;
const U64_MAX = 2n ** 64n - 1n;

function isDict(v: Json): v is Record<string, Json> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof QmpFloat);
}

/** QEMU's QObject type of a JSON value (QNum covers integers and floats). */
function qtype(v: Json): "dict" | "list" | "string" | "number" | "bool" | "null" {
  if (v === null) return "null";
  if (Array.isArray(v)) return "list";
  if (typeof v === "string") return "string";
  if (typeof v === "number" || typeof v === "bigint" || v instanceof QmpFloat) return "number";
  if (typeof v === "boolean") return "bool";
  return "dict";
}

/** Visits values against one schema table. */
export class InputVisitor {
  constructor(private readonly schema: QapiSchema) {}

  /** Visit `value` as the command argument type `type` (the root struct, name NULL in QEMU). */
  visitRoot(type: string, value: Record<string, Json>): void {
    // One path per visit, grown and shrunk in place as the visit goes down and back up.
    this.visitType(type, value, [{ name: null }]);
  }

  /**
   * Visit `value` as a root visitor named `name` visits it (qom-set's property value: a
   * qobject_input_visitor on the value, visited under the property's name).
   */
  visitNamed(type: string, value: Json, name: string): void {
    this.visitType(type, value, [{ name }]);
  }

  /** full_name(): the dotted path of the value at `path`, as QEMU prints it. */
  private fullName(path: Segment[]): string {
    let out = "";
    for (const seg of path) {
      if ("index" in seg) out += `[${seg.index}]`;
      else if (seg.name !== null) out += out === "" ? seg.name : `.${seg.name}`;
    }
    return out === "" ? "<anonymous>" : out;
  }

  /** The bare name QEMU's enum and alternate errors use: the member name, or 'null' in a list. */
  private bareName(path: Segment[]): string {
    const last = path[path.length - 1]!;
    return "name" in last && last.name !== null ? last.name : "null";
  }

  private typeError(path: Segment[], expected: string): VisitError {
    return new VisitError(`Invalid parameter type for '${this.fullName(path)}', expected: ${expected}`);
  }

  private visitType(typeName: string, value: Json, path: Segment[], int?: IntKind): void {
    const t = this.schema.types[typeName];
    if (!t) throw new Error(`schema has no type '${typeName}'`);
    switch (t.kind) {
      case "object":
        if (!isDict(value)) throw this.typeError(path, "object");
        return this.visitStruct(t, value, path);
      case "array":
        if (!Array.isArray(value)) throw this.typeError(path, "array");
        value.forEach((el, i) => {
          path.push({ index: i }, { name: null });
          this.visitType(t.element, el, path);
          path.length -= 2;
        });
        return;
      case "alternate":
        return this.visitAlternate(t, value, path);
      case "enum":
        if (typeof value !== "string") throw this.typeError(path, "string");
        if (!t.values.includes(value)) {
          throw new VisitError(`Parameter '${this.bareName(path)}' does not accept value '${value}'`);
        }
        return;
      case "builtin":
        if (t.json === "int") return this.visitInteger(int, value, path);
        return this.visitBuiltin(t.json, value, path);
    }
  }

  /**
   * visit_type_int64/intN/uint64/uintN: signed types want an int64 ("expected: integer"); unsigned
   * ones take any 64-bit integer, negatives wrapping ("expects uint64"); sized ones then check their
   * range and name the bare member ("expects int32_t"). A double is no integer, even a whole one
   * (qnum_get_try_int refuses a QNUM_DOUBLE): a QmpFloat fails both.
   */
  private visitInteger(kind: IntKind | undefined, value: Json, path: Segment[]): void {
    const n = typeof value === "bigint" ? value : typeof value === "number" && Number.isInteger(value) ? BigInt(value) : undefined;
    const unsigned = kind !== undefined && kind.startsWith("u");
    if (!unsigned) {
      if (n === undefined || n < I64_MIN || n > I64_MAX) throw this.typeError(path, "integer");
    } else if (n === undefined || n < I64_MIN || n > U64_MAX) {
      throw new VisitError(`Parameter '${this.fullName(path)}' expects uint64`);
    }
    if (kind === undefined || kind === "uint64") return;
    const bits = BigInt(Number(kind.replace(/\D/g, "")));
    const v = unsigned && n! < 0n ? n! + 2n ** 64n : n!;
    const [min, max] = unsigned ? [0n, 2n ** bits - 1n] : [-(2n ** (bits - 1n)), 2n ** (bits - 1n) - 1n];
    if (v < min || v > max) throw new VisitError(`Parameter '${this.bareName(path)}' expects ${kind}_t`);
  }

  private visitBuiltin(json: string, value: Json, path: Segment[]): void {
    switch (json) {
      case "string":
        if (typeof value !== "string") throw this.typeError(path, "string");
        return;
      case "boolean":
        if (typeof value !== "boolean") throw this.typeError(path, "boolean");
        return;
      case "number":
        if (qtype(value) !== "number") throw this.typeError(path, "number");
        return;
      case "null":
        if (value !== null) throw this.typeError(path, "null");
        return;
      default: // "value": any
        return;
    }
  }

  /**
   * start_struct, the members in schema order (base, then the union branch), then check_struct. The
   * GHashTable QEMU takes the first leftover key from is modelled only when there is one: nearly
   * every struct has none, and building it for each was most of what validating a command cost.
   */
  private visitStruct(t: SchemaObject, dict: Record<string, Json>, path: Segment[]): void {
    const visited: string[] = [];
    const visitMembers = (ms: SchemaObject["members"]) => {
      for (const m of ms) {
        const present = Object.prototype.hasOwnProperty.call(dict, m.name);
        if (!present) {
          if (m.optional) continue;
          throw new VisitError(`Parameter '${this.fullName([...path, { name: m.name }])}' is missing`);
        }
        visited.push(m.name);
        // The path grows and shrinks in place: an error's text is made when it is thrown.
        path.push({ name: m.name });
        this.visitType(m.type, dict[m.name], path, m.int);
        path.pop();
      }
    };
    visitMembers(t.members);
    if (t.tag !== undefined) {
      const branch = t.variants?.[dict[t.tag] as string];
      if (branch) visitMembers((this.schema.types[branch] as SchemaObject).members);
    }
    const keys = Object.keys(dict);
    if (keys.every((k) => visited.includes(k))) return;
    const table = new GHashModel();
    for (const key of qdictKeyOrder(keys)) table.insert(key);
    for (const name of visited) table.remove(name);
    const leftover = table.keysInOrder()[0]!;
    throw new VisitError(`Parameter '${this.fullName([...path, { name: leftover }])}' is unexpected`);
  }

  /** start_alternate picks the branch by the value's QObject type; no match names the alternate type. */
  private visitAlternate(t: SchemaAlternate, value: Json, path: Segment[]): void {
    const want = qtype(value);
    const branch = t.members.find((m) => {
      const bt = this.schema.types[m]!;
      switch (bt.kind) {
        case "object":
          return want === "dict";
        case "array":
          return want === "list";
        case "enum":
          return want === "string";
        case "alternate":
          return false;
        case "builtin":
          return (
            (bt.json === "string" && want === "string") ||
            ((bt.json === "int" || bt.json === "number") && want === "number") ||
            (bt.json === "boolean" && want === "bool") ||
            (bt.json === "null" && want === "null")
          );
      }
    });
    if (branch === undefined) {
      throw new VisitError(`Invalid parameter type for '${this.bareName(path)}', expected: ${t.name}`);
    }
    this.visitType(branch, value, path);
  }
}
