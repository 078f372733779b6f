// Log-linear latency histogram (HDR-style): exact below 64, then 32 linear
// sub-buckets per power of two, i.e. at most ~3% relative error. Values are
// non-negative integers (we record microseconds). Pure TS so Node can test it.

const SUB_BITS = 5;
const SUB = 1 << SUB_BITS; // sub-buckets per octave
const EXACT = SUB * 2; // values below this get a bucket each
const MAX_SHIFT = 40; // covers ~2^45 us, far beyond any run

export function bucketIndex(value: number): number {
  const whole = value < 0 ? 0 : Math.floor(value);
  if (whole < EXACT) return whole;
  if (whole < 2 ** 31) {
    // fast path (runs once per delivery): integer shifts instead of pow/divide
    const shift = 31 - Math.clz32(whole) - SUB_BITS;
    return EXACT + (shift - 1) * SUB + ((whole >>> shift) - SUB);
  }
  // shift such that (whole >> shift) lands in [SUB, 2*SUB)
  const log2 = whole >= 2 ** 31 ? Math.floor(Math.log2(whole)) : 31 - Math.clz32(whole);
  const shift = Math.min(log2 - SUB_BITS, MAX_SHIFT);
  const sub = Math.min(Math.floor(whole / 2 ** shift), 2 * SUB - 1);
  return EXACT + (shift - 1) * SUB + (sub - SUB);
}

/** Inclusive [low, high] range of values that map to `bucket`. */
export function bucketRange(bucket: number): [number, number] {
  if (bucket < EXACT) return [bucket, bucket];
  const past = bucket - EXACT; // buckets past the exact ones
  const shift = Math.floor(past / SUB) + 1;
  const sub = (past % SUB) + SUB;
  return [sub * 2 ** shift, (sub + 1) * 2 ** shift - 1];
}

export interface Percentiles {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  p999: number;
  max: number;
}

export class Histogram {
  private counts = new Float64Array(EXACT + MAX_SHIFT * SUB);
  count = 0;
  min = Infinity;
  max = 0;
  private sum = 0;

  record(value: number): void {
    this.counts[bucketIndex(value)]++;
    this.count++;
    this.sum += value;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
  }

  merge(other: Histogram): void {
    for (let i = 0; i < this.counts.length; i++) this.counts[i] += other.counts[i];
    this.count += other.count;
    this.sum += other.sum;
    this.min = Math.min(this.min, other.min);
    this.max = Math.max(this.max, other.max);
  }

  /** Value at `percent` (0..100): the highest value equivalent to the
   * bucket holding that rank, clamped to the observed min/max. */
  percentile(percent: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil((percent / 100) * this.count));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i];
      if (seen >= rank) return Math.min(Math.max(bucketRange(i)[1], this.min), this.max);
    }
    return this.max;
  }

  summary(): Percentiles {
    return {
      count: this.count,
      min: this.count ? this.min : 0,
      mean: this.count ? this.sum / this.count : 0,
      p50: this.percentile(50),
      p90: this.percentile(90),
      p95: this.percentile(95),
      p99: this.percentile(99),
      p999: this.percentile(99.9),
      max: this.max,
    };
  }
}
