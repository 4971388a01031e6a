/**
 * The recorded fixtures must keep covering every QEMU 7.2 error message of the graph, permission,
 * blockdev-add/del/reopen, export and block job code that can be reached without crashing the
 * daemon. Each entry is matched against the error replies recorded in tests/fixtures/qmp.
 */
import { readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { readFixture } from "./fixture-file.js";

const fixturesDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../fixtures/qmp");

const REQUIRED: RegExp[] = [
  // permissions (conflict-check algorithm, read-only, alignment, image locks)
  /^Permission conflict on node '.+': permissions '.+' are both required by node '.+' \(uses node '.+' as 'file' child\) and unshared by node/,
  /^Permission conflict on node .* required by an unnamed block device \(uses node '.+' as 'root' child\)/,
  /^Permission conflict on node .* unshared by an unnamed block device/,
  /^Permission conflict on node .* as 'image' child/,
  /^Block node is read-only$/,
  /^Read-only block node '.+' cannot support read-write users$/,
  /^Cannot get 'write' permission without 'resize': Image size is not a multiple of request alignment$/,
  /^Failed to get "write" lock$/,
  /^Failed to get shared "write" lock$/,
  // blockdev-reopen
  /^Parameter 'options\[0\]\.file' is missing$/,
  /^Parameter 'options\[0\]\.backing' is unexpected$/,
  /^Invalid parameter type for 'file', expected: BlockdevRef$/,
  /^node-name not specified$/,
  /^Failed to find node with node-name='.+'$/,
  /^Block format 'copy-on-read' used by node '.+' does not support reopening files$/,
  /^Block format 'compress' used by node '.+' does not support reopening files$/,
  /^Option '.+' cannot be reset to its default value$/,
  /^Option 'unshare-child-perms\.0' cannot be reset to its default value$/,
  /^Throttle group '.+' does not exist$/,
  /^backing is missing for '.+'$/,
  /^Cannot find device='' nor node-name='.+'$/,
  /^Making '.+' a file child of '.+' would create a cycle$/,
  /^Making '.+' a backing child of '.+' would create a cycle$/,
  /^Cannot change the option 'filename'$/,
  /^Cannot change the option 'aio'$/,
  /^Cannot change the option 'locking'$/,
  /^Cannot change the option 'force-share'$/,
  /^Cannot change the option 'file\.driver'$/,
  /^force-share=on can only be used with read-only images$/,
  // blockdev-add
  /^Duplicate nodes with node-name='.+'$/,
  /^'node-name' must be specified for the root node$/,
  /^Invalid node-name: '1bad'$/,
  /^Invalid node-name: '#block1'$/,
  /^Invalid node-name: ''$/,
  /^Node name too long$/,
  /^Cannot find device='(.+)' nor node-name='\1'$/,
  /^Parameter 'file' is missing$/,
  /^Parameter 'driver' does not accept value '.+'$/,
  /^Could not open '\$TEST_DIR\/.+': No such file or directory$/,
  /^Image is not in qcow2 format$/,
  // blockdev-del
  /^Node \S+ is in use$/,
  /^Node '.+' is busy: node is used as backing hd of '.+'$/,
  /^Node #block\d{3,} is not owned by the monitor$/,
  /^Block device \S+ is in use$/,
  // exports
  /^Invalid block export id$/,
  /^Block export id '.+' is already in use$/,
  /^Cannot export read-only node as writable$/,
  /^NBD server not running$/,
  /^NBD server already running$/,
  /^NBD server already has export named '.+'$/,
  /^Export '.+' is not found$/,
  // block jobs (j-*.jsonl)
  /^Job '.+' in state '.+' cannot accept command verb '.+'$/,
  /^Job not found$/,
  /^Block job '.+' not found$/,
  /^Job is already paused$/,
  /^Can't resume a job that was not paused$/,
  /^The block job for device '.+' is currently paused$/,
  /^Invalid job ID '.*'$/,
  /^Need a root block node$/,
  /^Device '.+' not found$/,
  /^Cannot change frozen 'backing' link from '.+' to '.+'$/,
  /^Cannot replace implicit backing child of .+$/,
  /^Node '.+' is busy: block device is in use by block job: (commit|stream|mirror)$/,
  /^Permission conflict on node .* unshared by commit job '.+' \(uses node '.+' as 'intermediate node' child\)/,
  /^Parameter 'speed' expects a non-negative value$/,
  /^cannot commit an image into itself$/,
  /^Can't mirror node into itself$/,
  /^Node '.+' is not a backing image of '.+'$/,
];

function recordedErrors(): string[] {
  const out: string[] = [];
  for (const f of readdirSync(fixturesDir).filter((x) => x.endsWith(".jsonl"))) {
    for (const s of readFixture(path.join(fixturesDir, f)).steps) {
      if (s.kind === "qmp" && "error" in s.reply) out.push(s.reply.error.desc);
    }
  }
  return out;
}

describe("recorded fixtures cover QEMU 7.2's messages", () => {
  const errors = recordedErrors();
  it.each(REQUIRED.map((r) => [r.source, r] as const))("%s", (_name, pattern) => {
    expect(errors.some((e) => pattern.test(e))).toBe(true);
  });
});
