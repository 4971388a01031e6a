/**
 * Kept for existing importers (bench/model.ts): images are written by the images module, which lays
 * them out exactly as `qemu-img create` does.
 */
export { writeImage } from "./images/write-image.js";
