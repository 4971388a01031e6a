/**
 * What the model has not built (a QMP command QEMU 7.2 has, a driver, an object type, an export that
 * is not NBD, encrypted qcow2, secrets from files, a transaction's backup
 * actions, an overlay format blockdev-snapshot-sync cannot write, qemu-system's own commands under
 * `require io`, an NBD server address only the host can answer for, qcow2 internal snapshots) is a runner error located at the statement (E_MODEL_UNSUPPORTED), never a QMP error
 * QEMU would not send.
 */
import { expect, it } from "vitest";
import { ModelEngine } from "../../src/engines/model/model-engine.js";
import { inlineRunner } from "../support/run-inline.js";

const run = inlineRunner(30_000);

async function refusal(lines: string[]): Promise<{ message: string; location?: string }> {
  const r = await run(['scenario "refused"', ...lines, ""].join("\n"), new ModelEngine());
  expect(r.failures).toHaveLength(1);
  return r.failures[0] as { message: string; location?: string };
}

it.each([
  [["image d.qcow2 qcow2 1M", "add q: qcow2 file=(file filename=d.qcow2)", 'qmp blockdev-snapshot-internal-sync {"device": "q", "name": "s"}'], "qcow2 internal snapshots (qcow2_snapshot_create)", 4],
  [["image d.qcow2 qcow2 1M", 'qmp object-add {"qom-type": "throttle-group", "id": "tg"}', "add q: throttle file=(raw file=(qcow2 file=(file filename=d.qcow2))) throttle-group=tg", 'qmp transaction {"actions": [{"type": "blockdev-snapshot-internal-sync", "data": {"device": "q", "name": "s"}}]}'], "qcow2 internal snapshots (qcow2_snapshot_create)", 5],
  [['qmp object-add {"qom-type": "memory-backend-ram", "id": "m0", "size": 1048576}'], "the object type 'memory-backend-ram'", 2],
  [['qmp object-add {"qom-type": "secret", "id": "s0", "file": "$TEST_DIR/key.txt"}'], "secret objects read from a file", 2],
  [["add d: dmg file=(null-co)"], "the driver 'dmg'", 2],
  [['secret s0 data=pw', "image j.luks luks 3M key-secret=s0 iter-time=10", "add j: luks file=(file filename=j.luks) key-secret=s0", 'qmp x-blockdev-amend {"job-id": "x0", "node-name": "j", "options": {"driver": "luks", "state": "inactive", "keyslot": 0}}'], "x-blockdev-amend of a luks node (its keyslots)", 5],
  [["add n: null-co", 'qmp block-export-add {"type": "vhost-user-blk", "id": "e0", "node-name": "n", "addr": {"type": "unix", "path": "$TEST_DIR/v.sock"}}'], "block exports of type 'vhost-user-blk'", 3],
  [["add n: null-co", "add t: null-co", 'qmp blockdev-backup {"job-id": "b", "device": "n", "target": "t", "sync": "full", "x-perf": {"use-copy-range": true}}'], "a backup with x-perf use-copy-range", 4],
  [["image d.vmdk vmdk 1M", "add q: vmdk file=(f: file filename=d.vmdk)", 'qmp blockdev-snapshot-sync {"node-name": "q", "snapshot-file": "$TEST_DIR/o.vmdk", "snapshot-node-name": "o", "format": "vmdk"}'], "a vmdk image created over a backing file", 4],
  [['qmp nbd-server-start {"addr": {"type": "inet", "data": {"host": "example.org", "port": "0"}}}'], "nbd-server-start on the host name 'example.org' (the host's answer)", 2],
  [['qmp nbd-server-start {"addr": {"type": "inet", "data": {"host": "127.0.0.1", "port": "nbd"}}}'], "nbd-server-start on the service 'nbd' (the host's answer)", 2],
  [['qmp nbd-server-start {"addr": {"type": "inet", "data": {"host": "127.0.0.1", "port": "10809"}}}'], "nbd-server-start on the fixed port 10809 (the host's answer)", 2],
  [['qmp nbd-server-start {"addr": {"type": "inet", "data": {"host": "192.0.2.1", "port": "0"}}}'], "nbd-server-start on the address 192.0.2.1 (the host's answer)", 2],
  [['qmp nbd-server-start {"addr": {"type": "vsock", "data": {"cid": "2", "port": "1"}}}'], "nbd-server-start on a vsock address (whether it binds depends on the host)", 2],
  [["require io", "qmp query-status"], "the qemu-system QMP command 'query-status'", 3],
  [["require io", "add n: null-co", 'qmp block_set_io_throttle {"id": "n", "bps": 0, "bps_rd": 0, "bps_wr": 0, "iops": 0, "iops_rd": 0, "iops_wr": 0}'], "the qemu-system QMP command 'block_set_io_throttle'", 4],
  [["require io", "image d.qcow2 qcow2 1M", "add f: file filename=d.qcow2", 'io f "write -P 0x01 63 1"', "add q: qcow2 file=f"], "internal snapshots (qcow2_read_snapshots)", 6],
])("%j is refused as unimplemented", async (lines, what, line) => {
  expect(await refusal(lines)).toMatchObject({ message: `E_MODEL_UNSUPPORTED: the model engine does not implement ${what}`, location: `tests/scenarios/t.scn:${line}` });
});

it("answers a qemu-system command as QEMU does where the daemon runs it, and one neither has as CommandNotFound", async () => {
  const daemon = await run(['scenario "daemon"', "qmp query-status -> error \"The command query-status has not been found\"", ""].join("\n"), new ModelEngine());
  expect(daemon.failures).toEqual([]);
  const system = await run(['scenario "system"', "require io", "qmp query-nothing -> error \"The command query-nothing has not been found\"", ""].join("\n"), new ModelEngine());
  expect(system.failures).toEqual([]);
});
