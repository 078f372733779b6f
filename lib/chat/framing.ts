/**
 * Line framing over a byte stream.
 *
 * Works on bytes, not strings: a relay must pass invalid UTF-8, NULs and
 * control characters through unchanged, and decoding would mangle them.
 * Complete lines are handed out as views of the received chunk (no copy);
 * only a line split across chunks is joined.
 */
import { concat } from "../bytes.ts";

const LF = 10;
const CR = 13;

/** Outcome of `LineFramer.push`. */
export enum FrameResult {
  /** All complete lines were handed out; any rest is kept as the tail. */
  OK = 0,
  /** The consumer asked to stop; the unread rest was dropped. */
  STOPPED = 1,
  /** A line grew past the limit before its newline came. */
  TOO_LONG = 2,
}

/** Splits a byte stream into lines, keeping an unterminated tail between chunks. */
export class LineFramer {
  /** Made on the first unterminated tail: most connections never need one. */
  private tail: Uint8Array[] | null = null;
  private tailBytes = 0;

  /** @param maxLine longest line accepted, in bytes, without its newline */
  constructor(readonly maxLine = Infinity) {}

  /** Bytes received after the last newline. */
  get pending(): number {
    return this.tailBytes;
  }

  /**
   * Split `chunk` into lines and give each to `onLine` without its `\n`
   * (or `\r\n`). `onLine` returns false to stop reading this connection.
   */
  push(chunk: Uint8Array, onLine: (line: Uint8Array) => boolean | void): FrameResult {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(LF, start);
      if (nl < 0) break;
      let line = chunk.subarray(start, nl);
      start = nl + 1;
      if (this.tailBytes) {
        if (this.tailBytes + line.length > this.maxLine) return this.overflow();
        line = concat([...this.tail!, line], this.tailBytes + line.length);
        this.tail!.length = 0;
        this.tailBytes = 0;
      } else if (line.length > this.maxLine) {
        return this.overflow();
      }
      if (line.length && line[line.length - 1] === CR) line = line.subarray(0, line.length - 1);
      if (onLine(line) === false) return FrameResult.STOPPED;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      if (this.tailBytes + rest.length > this.maxLine) return this.overflow();
      (this.tail ??= []).push(rest);
      this.tailBytes += rest.length;
    }
    return FrameResult.OK;
  }

  /** Take the unterminated tail (a message without its newline), if any. */
  takeTail(): Uint8Array | null {
    if (!this.tailBytes) return null;
    const tail = this.tail!;
    let line = tail.length === 1 ? tail[0]! : concat(tail, this.tailBytes);
    if (line[line.length - 1] === CR) line = line.subarray(0, line.length - 1);
    tail.length = 0;
    this.tailBytes = 0;
    return line;
  }

  private overflow(): FrameResult {
    if (this.tail) this.tail.length = 0;
    this.tailBytes = 0;
    return FrameResult.TOO_LONG;
  }
}
