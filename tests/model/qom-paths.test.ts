/**
 * QOM paths as object_resolve_path resolves them (qom/object.c): an absolute path from the root, and
 * a partial one (iotests 184 names a throttle group `group0`) searched for from every object the
 * root's children reach, ambiguous when it resolves from more than one. The tree outside /objects
 * is the one the qemu engine's command line gives qemu-storage-daemon and qemu-system.
 */
import { describe, expect, it } from "vitest";
import { ModelEngine } from "../../src/engines/model/model-engine.js";
import { QemuEngine } from "../../src/engines/qemu/qemu-engine.js";
import { describeWithQemu } from "../support/qemu.js";
import { inlineRunner } from "../support/run-inline.js";

const run = inlineRunner(20_000);

function scenario(system: boolean): string {
  return [
    'scenario "QOM paths"',
    ...(system ? ["require io"] : []),
    'qmp object-add {"qom-type": "throttle-group", "id": "group0", "limits": {"iops-total": 1000}}',
    "iothread io0",
    'qmp qom-get {"path": "group0", "property": "limits"}',
    'qmp qom-set {"path": "group0", "property": "limits", "value": {"iops-total": 0}}',
    'qmp qom-get {"path": "group0/", "property": "x-iops-total"}',
    'qmp qom-get {"path": "objects/group0", "property": "type"}',
    'qmp qom-get {"path": "/objects//group0", "property": "type"}',
    'qmp qom-list {"path": "io0"}',
    'qmp qom-list {"path": "/"}',
    'qmp qom-list {"path": "objects"}',
    'qmp qom-list {"path": "chardevs"}',
    'qmp qom-get {"path": "/", "property": "objects"}',
    'qmp qom-get {"path": "chardevs", "property": "mon0"}',
    'qmp qom-get {"path": "mon0", "property": "type"}',
    'qmp qom-set {"path": "/", "property": "chardevs", "value": "x"} -> error /./',
    'qmp qom-list {"path": ""} -> error /./',
    'qmp qom-get {"path": "", "property": "type"} -> error /./',
    'qmp qom-list {"path": "nothing"} -> error /./',
    'qmp qom-list {"path": "group0/x"} -> error /./',
    'qmp qom-list {"path": "/group0"} -> error /./',
    'qmp qom-list {"path": "container"} -> error /./',
    ...(system
      ? [
          'qmp qom-get {"path": "machine", "property": "type"}',
          'qmp qom-get {"path": "machine", "property": "unattached"}',
          'qmp qom-get {"path": "machine", "property": "memory-backend"}',
          'qmp qom-list {"path": "peripheral"}',
          'qmp qom-list {"path": "/machine/unattached"}',
          'qmp qom-get {"path": "sysbus", "property": "type"}',
          'qmp qom-get {"path": "unattached", "property": "io[0]"}',
          "iothread peripheral",
          'qmp qom-list {"path": "peripheral"} -> error /./',
        ]
      : ['qmp qom-list {"path": "machine"} -> error /./']),
    "iothread mon0",
    "iothread objects",
    'qmp qom-list {"path": "mon0"} -> error /./',
    'qmp qom-get {"path": "mon0", "property": "type"} -> error /./',
    'qmp qom-list {"path": "objects"} -> error /./',
    'qmp qom-list {"path": "/objects/objects"}',
    'qmp qom-list {"path": "/"}',
    "",
  ].join("\n");
}

describe("QOM paths on the model", () => {
  it("resolves a partial path to the one object that has it", async () => {
    const r = await run(scenario(false), new ModelEngine());
    expect(r.failures).toEqual([]);
    expect(r.transcript).toContain('qmp qom-get {"path": "group0/", "property": "x-iops-total"}\n  return: 0\n');
    expect(r.transcript).toContain('qmp qom-list {"path": ""} -> error /./\n  error: Path \'\' is ambiguous\n');
    expect(r.transcript).toContain('qmp qom-list {"path": "mon0"} -> error /./\n  error: Path \'mon0\' is ambiguous\n');
    expect(r.transcript).toContain('qmp qom-get {"path": "mon0", "property": "type"} -> error /./\n  error: Device \'mon0\' not found\n');
  });

  it("refuses the properties of objects it does not have", async () => {
    const r = await run('scenario "s"\nrequire io\nqmp qom-list {"path": "sysbus"}\n', new ModelEngine());
    expect(r.failures[0]!.message).toBe(
      "E_MODEL_UNSUPPORTED: the model engine does not implement the properties of the QOM object '/machine/unattached/sysbus' (System), which the model does not have",
    );
  });
});

describeWithQemu("QOM paths on QEMU", () => {
  for (const system of [false, true]) {
    it(`gives the model's transcript (${system ? "qemu-system" : "qemu-storage-daemon"})`, { timeout: 30_000 }, async () => {
      const qemu = await run(scenario(system), new QemuEngine());
      expect(qemu.failures).toEqual([]);
      expect(qemu.transcript).toBe((await run(scenario(system), new ModelEngine())).transcript);
    });
  }
});
