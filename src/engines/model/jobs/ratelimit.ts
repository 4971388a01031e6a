/**
 * `RateLimit` (include/qemu/ratelimit.h): a job with a speed may dispatch `speed` bytes per time
 * slice; past the quota its next chunk waits until the (extended) slice ends. On the model's clock.
 */

/** BLOCK_JOB_SLICE_TIME: 100 ms. */
export const BLOCK_JOB_SLICE_TIME_NS = 100_000_000;

export class RateLimit {
  private sliceStart = 0;
  private sliceEnd = 0;
  private sliceQuota = 0;
  private sliceNs = 0;
  private dispatched = 0;

  /** `ratelimit_set_speed`: speed 0 disables throttling. */
  setSpeed(speed: number, sliceNs: number): void {
    this.sliceNs = sliceNs;
    // (uint64_t) MAX(speed * slice_ns / 1e9, 1)
    this.sliceQuota = speed === 0 ? 0 : Math.floor(Math.max((speed * sliceNs) / 1_000_000_000, 1));
  }

  /** `ratelimit_calculate_delay`: how long to wait after dispatching `n` more bytes at `nowNs`. */
  calculateDelay(n: number, nowNs: number): number {
    if (!this.sliceQuota) return 0;
    if (this.sliceEnd < nowNs) {
      this.sliceStart = nowNs;
      this.sliceEnd = nowNs + this.sliceNs;
      this.dispatched = 0;
    }
    this.dispatched += n;
    if (this.dispatched < this.sliceQuota) return 0;
    const delaySlices = this.dispatched / this.sliceQuota;
    this.sliceEnd = this.sliceStart + Math.floor(delaySlices * this.sliceNs);
    return this.sliceEnd - nowNs;
  }
}
