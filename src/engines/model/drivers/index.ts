/** The drivers the model implements, by QAPI name. */
import { blkdebugDriver } from "./blkdebug.js";
import { blklogwritesDriver } from "./blklogwrites.js";
import { blkverifyDriver } from "./blkverify.js";
import { compressDriver } from "./compress.js";
import { copyBeforeWriteDriver } from "./copy-before-write.js";
import { copyOnReadDriver } from "./copy-on-read.js";
import type { DriverDef } from "./driver.js";
import { fileDriver } from "./file.js";
import { hostCdromDriver, hostDeviceDriver } from "./host-device.js";
import { luksDriver } from "./luks.js";
import { nbdDriver } from "./nbd.js";
import { nullAioDriver, nullCoDriver } from "./null-co.js";
import { parallelsDriver } from "./parallels.js";
import { preallocateDriver } from "./preallocate.js";
import { qcowDriver } from "./qcow.js";
import { qcow2Driver } from "./qcow2.js";
import { qedDriver } from "./qed.js";
import { quorumDriver } from "./quorum.js";
import { rawDriver } from "./raw.js";
import { snapshotAccessDriver } from "./snapshot-access.js";
import { throttleDriver } from "./throttle.js";
import { vmdkDriver } from "./vmdk.js";
import { vdiDriver } from "./vdi.js";
import { vpcDriver } from "./vpc.js";
import { vhdxDriver } from "./vhdx.js";

const DRIVERS: readonly DriverDef[] = [
  blkdebugDriver,
  blklogwritesDriver,
  blkverifyDriver,
  compressDriver,
  copyBeforeWriteDriver,
  copyOnReadDriver,
  fileDriver,
  hostCdromDriver,
  hostDeviceDriver,
  luksDriver,
  nbdDriver,
  nullAioDriver,
  nullCoDriver,
  parallelsDriver,
  preallocateDriver,
  qcowDriver,
  qcow2Driver,
  qedDriver,
  quorumDriver,
  rawDriver,
  snapshotAccessDriver,
  throttleDriver,
  vmdkDriver,
  vdiDriver,
  vpcDriver,
  vhdxDriver,
];

const BY_NAME = new Map(DRIVERS.map((d) => [d.name, d]));

/** The driver with this QAPI name, or undefined when the model does not implement it. */
export function findDriver(name: string): DriverDef | undefined {
  return BY_NAME.get(name);
}

/**
 * `bdrv_probe_all`: the format driver whose probe scores `buf` highest (the first such, in QEMU's
 * driver list order, where two score the same), or undefined when none scores above 0.
 */
export function probeDriver(buf: Buffer, filename: string): DriverDef | undefined {
  let best: DriverDef | undefined;
  let bestScore = 0;
  for (const d of DRIVERS) {
    const score = d.probe?.(buf, filename) ?? 0;
    if (score > bestScore) {
      best = d;
      bestScore = score;
    }
  }
  return best;
}

/** Names of the modelled drivers, sorted. */
export function driverNames(): string[] {
  return DRIVERS.map((d) => d.name).sort();
}
