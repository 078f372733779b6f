/**
 * Byte helpers shared by the reactor, the backends, the chat protocol and
 * the cluster relay: one home, so each mechanism is written once.
 *
 * Everything works on `Uint8Array` and never decodes: a relay passes
 * invalid UTF-8, NULs and control characters through unchanged.
 */

/** An empty array, shared (never written to). */
export const EMPTY_BYTES: Uint8Array = new Uint8Array(0);

/** Total length of `parts`. */
export function totalLength(parts: readonly Uint8Array[]): number {
  let n = 0;
  for (const p of parts) n += p.length;
  return n;
}

/** Concatenate `parts` (of `total` bytes) into one new array. */
export function concat(parts: readonly Uint8Array[], total = totalLength(parts)): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Whether `bytes` begins with `prefix`. */
export function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (bytes.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

/** Whether `a` and `b` hold the same bytes. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && startsWith(a, b);
}

/**
 * A FIFO of byte chunks kept by reference. The usual queue holds one chunk
 * (a tick's input, a room's shared batch), so that chunk lives in a field of
 * its own and an array is made only for a second one: the common case
 * allocates nothing.
 */
export class ChunkQueue {
  private first: Uint8Array | null = null;
  private more: Uint8Array[] | null = null;
  /** Bytes queued. */
  bytes = 0;

  /** Append `chunk` (kept by reference; empty chunks are ignored). */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    if (this.first === null) this.first = chunk;
    else (this.more ??= []).push(chunk);
    this.bytes += chunk.length;
  }

  /** Whether nothing is queued. */
  get empty(): boolean {
    return this.bytes === 0;
  }

  /** Chunks queued (for senders that write chunk by chunk). */
  get chunks(): number {
    return this.first === null ? 0 : 1 + (this.more?.length ?? 0);
  }

  /** Remove and return the first chunk (null when empty). */
  shift(): Uint8Array | null {
    const first = this.first;
    if (first === null) return null;
    const more = this.more;
    this.first = more !== null && more.length > 0 ? more.shift()! : null;
    this.bytes -= first.length;
    return first;
  }

  /** Put `chunk` back in front (the unsent rest of a chunk just shifted). */
  unshift(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    if (this.first !== null) (this.more ??= []).unshift(this.first);
    this.first = chunk;
    this.bytes += chunk.length;
  }

  /**
   * Up to `max` bytes from the front, as one array: a view when they lie in
   * the first chunk, else a copy. The rest stays queued.
   */
  take(max: number): Uint8Array {
    if (max >= this.bytes) return this.takeAll();
    const first = this.first!;
    if (first.length >= max) {
      this.shift();
      if (first.length > max) this.unshift(first.subarray(max));
      return first.subarray(0, max);
    }
    const out = new Uint8Array(max);
    let at = 0;
    while (at < max) {
      const chunk = this.shift()!;
      const n = Math.min(chunk.length, max - at);
      out.set(n === chunk.length ? chunk : chunk.subarray(0, n), at);
      if (n < chunk.length) this.unshift(chunk.subarray(n));
      at += n;
    }
    return out;
  }

  /** Everything queued as one array (the one chunk itself, or a copy of several), leaving the queue empty. */
  takeAll(): Uint8Array {
    if (this.first === null) return EMPTY_BYTES;
    const more = this.more;
    const out = more === null || more.length === 0 ? this.first : this.joined(more);
    this.clear();
    return out;
  }

  /** Drop everything. */
  clear(): void {
    this.first = null;
    if (this.more) this.more.length = 0;
    this.bytes = 0;
  }

  private joined(more: Uint8Array[]): Uint8Array {
    const out = new Uint8Array(this.bytes);
    out.set(this.first!, 0);
    let at = this.first!.length;
    for (const p of more) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

/**
 * An append-only byte buffer whose contents are handed out without copying.
 * Storage is allocated on the first append after a `take()`, sized like the
 * last take: an idle user holds none, and a busy one gets one allocation
 * per take rather than a fixed size whether it needs it or not.
 */
export class ByteBuilder {
  private buf: Uint8Array | null = null;
  /** Bytes appended since the last `take()`. */
  length = 0;
  private lastSize: number;

  /**
   * @param minSize the first allocation after a `take()`
   * @param sizeLikeLast start the next buffer as large as the last take
   *   (a room's batch, which is much the same every tick), rather than at
   *   `minSize` (a line's tail, which must cost about its own size)
   */
  constructor(
    private readonly minSize = 4 * 1024,
    private readonly sizeLikeLast = true,
  ) {
    this.lastSize = minSize;
  }

  /** Append a copy of `bytes`. */
  append(bytes: Uint8Array): void {
    const need = this.length + bytes.length;
    if (this.buf === null || need > this.buf.length) this.grow(need);
    this.buf!.set(bytes, this.length);
    this.length = need;
  }

  /** Append one byte. */
  appendByte(byte: number): void {
    if (this.buf === null || this.length === this.buf.length) this.grow(this.length + 1);
    this.buf![this.length++] = byte;
  }

  /**
   * Bytes [start, end) so far. Appends never touch written bytes and a
   * reallocation leaves the old buffer alone, so a view stays valid.
   */
  view(start = 0, end = this.length): Uint8Array {
    return this.buf === null ? EMPTY_BYTES : this.buf.subarray(start, end);
  }

  /** The bytes so far; the next append starts a fresh buffer, so they stay valid. */
  take(): Uint8Array {
    const out = this.view(0);
    if (this.length > 0 && this.sizeLikeLast) this.lastSize = Math.max(this.minSize, this.length);
    this.buf = null;
    this.length = 0;
    return out;
  }

  /** Forget the bytes so far and the storage with them. */
  reset(): void {
    this.buf = null;
    this.length = 0;
  }

  private grow(need: number): void {
    let cap = this.buf === null ? this.lastSize : this.buf.length * 2;
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    if (this.buf !== null) next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }
}
