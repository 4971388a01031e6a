/** The drivers the model implements, by QAPI name. */
import { blkdebugDriver } from "./blkdebug.js";
import { compressDriver } from "./compress.js";
import { copyOnReadDriver } from "./copy-on-read.js";
import type { DriverDef } from "./driver.js";
import { fileDriver } from "./file.js";
import { nullCoDriver } from "./null-co.js";
import { preallocateDriver } from "./preallocate.js";
import { qcow2Driver } from "./qcow2.js";
import { rawDriver } from "./raw.js";
import { throttleDriver } from "./throttle.js";

const DRIVERS: readonly DriverDef[] = [
  blkdebugDriver,
  compressDriver,
  copyOnReadDriver,
  fileDriver,
  nullCoDriver,
  preallocateDriver,
  qcow2Driver,
  rawDriver,
  throttleDriver,
];

const BY_NAME = new Map(DRIVERS.map((d) => [d.name, d]));

/** The driver with this QAPI name, or undefined when the model does not implement it. */
export function findDriver(name: string): DriverDef | undefined {
  return BY_NAME.get(name);
}

/** Names of the modelled drivers, sorted. */
export function driverNames(): string[] {
  return DRIVERS.map((d) => d.name).sort();
}
