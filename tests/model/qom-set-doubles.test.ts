/**
 * qom-set visits its value as sent: a double is no integer to visit_type_int64, even a whole one
 * (qnum_get_try_int refuses a QNUM_DOUBLE), though the QAPI layer passes it through `any`.
 * Scenarios cannot send a whole double (their JSON has one number type), QMP clients can.
 */
import { describe, expect, it } from "vitest";
import { BlockLayer } from "../../src/engines/model/block-layer.js";
import { QmpFloat } from "../../src/qmp/wire.js";

describe("qom-set of a double", () => {
  it("refuses a whole double for an iothread's integer property and for a throttle group's limit", () => {
    const layer = new BlockLayer({ workdir: "/scratch" });
    expect(layer.execute("object-add", { "qom-type": "iothread", id: "io0" })).toEqual({ return: {} });
    expect(layer.execute("object-add", { "qom-type": "throttle-group", id: "tg0" })).toEqual({ return: {} });
    expect(layer.execute("qom-set", { path: "/objects/io0", property: "poll-grow", value: new QmpFloat(2) })).toEqual({
      error: { class: "GenericError", desc: "Invalid parameter type for 'poll-grow', expected: integer" },
    });
    expect(layer.execute("qom-get", { path: "/objects/io0", property: "poll-grow" })).toEqual({ return: 0 });
    expect(layer.execute("qom-set", { path: "/objects/tg0", property: "limits", value: { "bps-total": new QmpFloat(5) } })).toEqual({
      error: { class: "GenericError", desc: "Invalid parameter type for 'limits.bps-total', expected: integer" },
    });
    expect(layer.execute("qom-set", { path: "/objects/io0", property: "poll-grow", value: 2 })).toEqual({ return: {} });
  });
});
