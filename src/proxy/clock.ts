/**
 * The proxy's clock: wall-clock microseconds (the capture-time unit, src/core/time.ts) read from
 * the monotonic high-resolution timer anchored to the wall clock once, at process start
 * (`performance.timeOrigin`). Monotonic, so a call's times stay ordered even if the system clock
 * is stepped while it runs; microsecond resolution, like a capture's timestamps.
 */
import type { Micros } from '../core/time.js';

export function proxyNow(): Micros {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}
