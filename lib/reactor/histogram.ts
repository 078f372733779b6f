/**
 * A log-scale histogram of durations, cheap enough to record every tick:
 * one `Math.clz32` and one increment, no allocation.
 *
 * Bucket i counts values below `2^i` microseconds (and at least `2^(i-1)`),
 * so percentiles are upper bounds within a factor of two: plenty to tell a
 * 50 µs tick from a 5 ms one. Counts only grow; a reader that wants a
 * window keeps a copy of `counts` and subtracts (see `percentileOf`).
 */

/** Number of buckets: the last one holds everything from about 4 s up. */
export const HISTOGRAM_BUCKETS = 24;

/** Durations recorded into power-of-two microsecond buckets. */
export class DurationHistogram {
  /** Count per bucket; bucket i's upper bound is `upperBoundMs(i)`. */
  readonly counts = new Float64Array(HISTOGRAM_BUCKETS);
  /** Values recorded. */
  total = 0;
  /** Sum of the values, in milliseconds (for an average, or Prometheus `_sum`). */
  sumMs = 0;

  /** Record one duration in milliseconds. */
  record(ms: number): void {
    const us = ms * 1000;
    // Bucket = number of bits in the whole microseconds: 0 µs -> 0, 1 -> 1, 2..3 -> 2, ...
    const bucket = us < 1 ? 0 : 32 - Math.clz32(us);
    this.counts[bucket < HISTOGRAM_BUCKETS ? bucket : HISTOGRAM_BUCKETS - 1]!++;
    this.total++;
    this.sumMs += ms;
  }
}

/** The upper bound of bucket `i`, in milliseconds (Infinity for the last). */
export function upperBoundMs(i: number): number {
  return i >= HISTOGRAM_BUCKETS - 1 ? Infinity : 2 ** i / 1000;
}

/**
 * The `p`-th percentile (0..1) of the values in `counts`, as the upper
 * bound of the bucket that holds it (0 when there are none). Pass the
 * difference of two snapshots to get the percentile of a window.
 */
export function percentileOf(counts: ArrayLike<number>, p: number): number {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i]!;
  if (total === 0) return 0;
  const rank = Math.ceil(total * p);
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    seen += counts[i]!;
    if (seen >= rank) return Math.min(upperBoundMs(i), upperBoundMs(HISTOGRAM_BUCKETS - 2));
  }
  return upperBoundMs(HISTOGRAM_BUCKETS - 2);
}
