/**
 * qemu-io sessions run on real QEMU 7.2 (HMP on qemu-system) by record-outputs.ts, whose outputs
 * are kept in fixtures/outputs.json; recorded.test.ts runs each on the model and wants the same
 * text. `$W` in QMP arguments is the scratch directory. Each session starts from fresh images.
 */
import type { ImageSpec } from "../../../src/engines/engine.js";

export type SessionStep = { qmp: string; args?: Record<string, unknown> } | { io: string; command: string };

export interface Session {
  title: string;
  images: ImageSpec[];
  steps: SessionStep[];
}

const file = (name: string, filename: string, extra: Record<string, unknown> = {}) => ({ driver: "file", "node-name": name, filename: `$W/${filename}`, ...extra });
const io = (node: string, ...commands: string[]): SessionStep[] => commands.map((command) => ({ io: node, command }));
const add = (args: Record<string, unknown>): SessionStep => ({ qmp: "blockdev-add", args });

export const SESSIONS: Session[] = [
  {
    title: "qcow2 reads, writes, patterns and the commands' own complaints",
    images: [{ path: "d.qcow2", format: "qcow2", size: 1 << 20 }],
    steps: [
      add({ driver: "qcow2", "node-name": "q", file: file("qf", "d.qcow2") }),
      ...io(
        "q",
        "write -P 0xa5 0 64k",
        "read -P 0x5a 0 4k",
        "read -P 0xa5 1M 4k",
        "read -P 0xa5 1020k 8k",
        "write 1020k 8k",
        "frob",
        "read",
        "read -x 0 1",
        "read 0 1 -P",
        "read 0 4k -P 0xa5",
        "read -P 0x1ff 0 1",
        "read 0 abc",
        "read 0 99999999999999999999",
        "read 1.5k 512",
        "read 0x1k 512",
        "read 0 1 2",
        "r -P 0xa5 0 512",
        "read -q -P 2 0 4k",
        "read -P 0xa5 -s 100 -l 200 0 4k",
        "read -P 2 -s 100 -l 200 0 4k",
        "read -s 100 0 4k",
        "read -P 0xa5 -s 5k 0 4k",
        "read -v 0 20",
        "read -C 0 4k",
        "write -z -P 1 0 4k",
        "write -u 0 4k",
        "write -n 0 4k",
        "write -c 100 64k",
        "write -c 64k 1000",
        "write -c 64k 512",
        "write -c 0 64k",
        "write -c 64k 64k",
        "write -q -P 1 128k 4k",
        "writev -P 3 192k 2k 2k",
        "readv -P 3 192k 2k 2k",
        "aio_write -P 5 256k 4k",
        "aio_read -P 5 256k 4k",
        "aio_read -P 4 256k 4k",
        "aio_write -P 5 1M 4k",
        "aio_write -z 320k 4k",
        "aio_write -z 320k 4k 4k",
        "aio_flush",
        "flush",
        "sleep 1",
        "sleep abc",
        "length",
        "l",
        "map",
        "alloc 0 128k",
        "alloc 0",
        "alloc 1M",
        "alloc 2M 4k",
        "help read",
        "help nosuch",
        "help",
        "discard 0 64k",
        "",
      ),
      ...io("nosuch", "read 0 512"),
    ],
  },
  {
    title: "a backing chain: partial clusters copied from below, zero clusters, compressed clusters",
    images: [
      { path: "d.qcow2", format: "qcow2", size: 4 << 20 },
      { path: "b.qcow2", format: "qcow2", size: 4 << 20 },
    ],
    steps: [
      add({ driver: "qcow2", "node-name": "b", file: file("bf", "b.qcow2") }),
      ...io("b", "write -P 0xb1 0 1M", "write -P 0xb2 3M 100k"),
      add({ driver: "qcow2", "node-name": "q", backing: "b", file: file("qf", "d.qcow2") }),
      ...io(
        "q",
        "write -P 0xa5 0 64k",
        "write -P 0x11 100k 8k",
        "write -P 0x12 3M 5k",
        "write -z 1M 64k",
        "write -z 1114112 4k",
        "write -z 1200k 4k",
        "write -z -u 0 64k",
        "write -c 2M 64k",
        "write -c 2162688 64k",
        "write -P 0x33 2162688 4k",
        "read -P 0xb1 200k 100k",
        "read -P 0x11 100k 8k",
        "read -P 0xb1 108k 20k",
        "read -P 0 0 64k",
        "read -P 0xcd 2M 64k",
        "read -P 0x33 2162688 4k",
        "read -P 0xcd 2166784 60k",
        "read -P 0xb2 3150848 95k",
        "read -P 0x12 3M 5k",
        "map",
        "alloc 0 4M",
      ),
      ...io("b", "map"),
      ...io("qf", "map"),
    ],
  },
  {
    title: "discard on a qcow2 node opened with discard=unmap, and on one without",
    images: [
      { path: "u.qcow2", format: "qcow2", size: 1 << 20 },
      { path: "i.qcow2", format: "qcow2", size: 1 << 20 },
    ],
    steps: [
      add({ driver: "qcow2", "node-name": "u", discard: "unmap", file: file("uf", "u.qcow2") }),
      add({ driver: "qcow2", "node-name": "i", file: file("if", "i.qcow2") }),
      ...io("u", "write -P 1 0 192k", "discard 0 64k", "discard 64k 4k", "discard 96k 64k", "map", "read -P 0 0 64k", "read -P 1 64k 64k", "read -P 1 128k 64k"),
      ...io("i", "write -P 1 0 128k", "discard 0 64k", "map", "read -P 1 0 128k"),
    ],
  },
  {
    title: "raw: a window over its file, and a file node read directly",
    images: [{ path: "r.raw", format: "raw", size: 2 << 20 }],
    steps: [
      add({ driver: "file", "node-name": "rf", filename: "$W/r.raw" }),
      add({ driver: "raw", "node-name": "w", file: "rf", offset: 1 << 20, size: 512 << 10 }),
      ...io("w", "write -P 0xa1 0 512k", "length", "map", "read -P 0xa1 0 512k", "read 500k 20k", "write 500k 20k", "discard 0 4k"),
      ...io("rf", "read -P 0 0 1M", "read -P 0xa1 1M 512k", "read -P 0 1536k 512k", "write -P 0xa0 0 4k", "map"),
    ],
  },
  {
    title: "null-co: what reads return without read-zeroes, and with it",
    images: [],
    steps: [
      add({ driver: "null-co", "node-name": "n" }),
      add({ driver: "null-co", "node-name": "z", "read-zeroes": true, size: 1 << 20 }),
      ...io("n", "read -P 0xab 0 4k", "read -v 0 16", "write -P 1 0 4k", "map", "length"),
      ...io("z", "read -P 0 0 4k", "write -P 1 0 4k", "read -P 0 0 4k", "map", "length", "alloc 0 1M"),
    ],
  },
  {
    title: "permissions the temporary BlockBackend cannot take",
    images: [
      { path: "d.qcow2", format: "qcow2", size: 1 << 20 },
      { path: "r.raw", format: "raw", size: 1 << 20 },
    ],
    steps: [
      add({ driver: "qcow2", "node-name": "q", file: file("qf", "d.qcow2") }),
      add({ driver: "raw", "node-name": "r", "read-only": true, file: file("rf", "r.raw", { "read-only": true }) }),
      ...io("qf", "write 0 4k", "read 0 4k", "discard 0 4k", "map"),
      ...io("r", "write 0 4k", "write -z 0 4k", "discard 0 4k", "aio_write 0 4k", "writev 0 4k", "read -P 0 0 4k"),
      add({ driver: "blkdebug", "node-name": "d", image: "q", "unshare-child-perms": ["write"] }),
      ...io("q", "write 0 4k", "read 0 4k"),
      ...io("d", "write -P 7 0 4k", "read -P 7 0 4k"),
    ],
  },
  {
    title: "filters pass requests on: throttle, preallocate, compress, blkdebug",
    images: [{ path: "d.qcow2", format: "qcow2", size: 1 << 20 }],
    steps: [
      { qmp: "object-add", args: { "qom-type": "throttle-group", id: "tg", limits: {} } },
      add({ driver: "qcow2", "node-name": "q", file: { driver: "preallocate", "node-name": "p", file: file("qf", "d.qcow2") } }),
      add({ driver: "throttle", "node-name": "t", "throttle-group": "tg", file: "q" }),
      ...io("t", "write -P 1 0 64k", "read -P 1 0 64k", "write -c 64k 64k", "map"),
      ...io("q", "read -P 1 0 64k", "read -P 0xcd 64k 64k"),
      { qmp: "blockdev-del", args: { "node-name": "t" } },
      add({ driver: "compress", "node-name": "c", file: "q" }),
      ...io("c", "write -P 2 128k 64k", "write -P 3 256k 4k", "write -P 4 128k 64k", "write -z 512k 64k", "read -P 2 128k 64k", "read -P 3 256k 4k", "read -P 0 260k 60k", "map"),
      { qmp: "blockdev-del", args: { "node-name": "c" } },
      add({ driver: "blkdebug", "node-name": "k", image: "q", align: 4096 }),
      ...io("k", "write -P 5 1000 100", "read -P 0xcd 0 1000", "read -P 5 1000 100", "read -P 0xcd 1100 2996", "map"),
    ],
  },
  {
    title: "copy-on-read: what is read is written into the node below",
    images: [
      { path: "base.qcow2", format: "qcow2", size: 1 << 20 },
      { path: "mid.qcow2", format: "qcow2", size: 1 << 20 },
      { path: "top.qcow2", format: "qcow2", size: 1 << 20 },
    ],
    steps: [
      add({ driver: "qcow2", "node-name": "base", file: file("basef", "base.qcow2") }),
      ...io("base", "write -P 0xb0 0 256k"),
      add({ driver: "qcow2", "node-name": "mid", backing: "base", file: file("midf", "mid.qcow2") }),
      ...io("mid", "write -P 0xb1 256k 128k"),
      add({ driver: "qcow2", "node-name": "top", backing: "mid", file: file("topf", "top.qcow2") }),
      add({ driver: "copy-on-read", "node-name": "cor", file: "top" }),
      ...io("top", "map"),
      ...io("cor", "read -P 0xb0 4k 4k", "read -P 0xb1 300k 8k", "read -P 0 900k 4k"),
      ...io("top", "map", "read -P 0xb0 0 64k", "read -P 0xb1 256k 64k"),
      { qmp: "blockdev-del", args: { "node-name": "cor" } },
      add({ driver: "copy-on-read", "node-name": "corb", file: "top", bottom: "mid" }),
      ...io("corb", "read -P 0xb0 128k 4k", "read -P 0xb1 320k 4k"),
      ...io("top", "map"),
    ],
  },
  {
    title: "an external data file",
    images: [{ path: "x.qcow2", format: "qcow2", size: 1 << 20, dataFile: "x.data" }],
    steps: [
      add({ driver: "qcow2", "node-name": "x", file: file("xf", "x.qcow2"), "data-file": file("xd", "x.data") }),
      ...io("x", "write -P 0xd0 0 64k", "write -P 0xd1 100k 4k", "write -c 192k 64k", "write -z 256k 64k", "read -P 0xd0 0 64k", "read -P 0 96k 4k", "read -P 0xd1 100k 4k", "map"),
      ...io("xd", "read -P 0xd0 0 64k", "read -P 0xd1 100k 4k", "read -P 0 64k 36k"),
    ],
  },
];
