/**
 * Helpers for hostile-traffic tests: crowds of clients that read
 * everything but keep only the head of each line (a burst moves gigabytes),
 * the server's peak memory, and silent connections.
 */
import { readFileSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { Waiters } from "./waiters.ts";

/** How much of each line a `HeadReader` keeps: enough for any notice and a message's prefix and tag. */
export const HEAD_BYTES = 128;
const EMPTY = Buffer.alloc(0);
const LF = 10;

/**
 * A client that reads as fast as the server sends and hands on the first
 * `HEAD_BYTES` of every line: a 60 KB line costs it one small string.
 */
export class HeadReader {
  lines = 0;
  closed = false;
  private head: Buffer = EMPTY;

  private constructor(
    readonly socket: net.Socket,
    private readonly onLine: (head: string) => void,
    private readonly wake: () => void,
  ) {
    socket.on("data", (d: Buffer) => {
      let at = 0;
      for (;;) {
        const nl = d.indexOf(LF, at);
        const end = nl < 0 ? d.length : nl;
        if (this.head.length < HEAD_BYTES && end > at) {
          const take = d.subarray(at, Math.min(end, at + HEAD_BYTES - this.head.length));
          this.head = this.head.length ? Buffer.concat([this.head, take]) : Buffer.from(take);
        }
        if (nl < 0) break;
        this.lines++;
        this.onLine(this.head.toString("latin1"));
        this.head = EMPTY;
        at = nl + 1;
      }
      this.wake();
    });
    socket.on("close", () => {
      this.closed = true;
      this.wake();
    });
    socket.on("error", () => {});
  }

  static connect(port: number, onLine: (head: string) => void, wake: () => void): Promise<HeadReader> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host: "127.0.0.1" }, () => resolve(new HeadReader(s, onLine, wake)));
      s.once("error", reject);
    });
  }

  /** `(127.0.0.1, PORT)`, as the server's notices name this client. */
  get addr(): string {
    return `(127.0.0.1, ${this.socket.localPort})`;
  }

  /** `<127.0.0.1:PORT> `: what the server puts in front of this client's lines. */
  get from(): string {
    return `<127.0.0.1:${this.socket.localPort}> `;
  }
}

/**
 * `n` reading clients in one room. `onLine(i, head)` hears the head of every
 * line client i receives; join notices are counted here, so `settled()` can
 * wait until every client has heard of every client that came after it.
 */
export class Crowd {
  readers: HeadReader[] = [];
  /** "... connected" notices received, over all clients. */
  joins = 0;
  private readonly waiters = new Waiters();

  private constructor(private readonly onLine: (i: number, head: string) => void) {}

  static async connect(port: number, n: number, onLine: (i: number, head: string) => void = () => {}): Promise<Crowd> {
    const crowd = new Crowd(onLine);
    const wake = () => crowd.waiters.wake();
    crowd.readers = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        HeadReader.connect(
          port,
          (head) => {
            if (head.startsWith("Client (") && head.endsWith(") connected")) crowd.joins++;
            crowd.onLine(i, head);
          },
          wake,
        ),
      ),
    );
    return crowd;
  }

  get size(): number {
    return this.readers.length;
  }

  /** Clients whose connection is closed. */
  closed(): number {
    return this.readers.filter((r) => r.closed).length;
  }

  /** Every join notice is in: nothing the server queued before now is still on its way. */
  settled(timeoutMs = 60_000): Promise<void> {
    const n = this.readers.length;
    return this.waitUntil(() => this.joins >= (n * (n - 1)) / 2, `all ${(n * (n - 1)) / 2} join notices`, timeoutMs);
  }

  /** Resolves when `test()` holds, checked whenever any client received something or closed. */
  waitUntil(test: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
    return this.waiters.until(test, what, timeoutMs, () => `(${this.closed()} of ${this.readers.length} clients closed)`);
  }

  destroy(): void {
    for (const r of this.readers) r.socket.destroy();
  }
}

/**
 * Peak resident memory of a process from now on: Linux keeps the high-water
 * mark (VmHWM) itself, and writing 5 to clear_refs resets it, so no peak
 * between two samples is missed.
 */
export function resetPeakRss(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, "5");
}

/** VmHWM of `pid` in KiB: the most it was resident since start or the last `resetPeakRss`. */
export function peakRssKiB(pid: number): number {
  const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`no VmHWM for pid ${pid}`);
  return Number(m[1]);
}

/**
 * Open `n` TCP connections that never send a byte. Resolves once every one
 * is established on our side (the kernel completes the handshake even
 * while the server does not accept) or was already reset by the server
 * (one that sheds idle handshakes to make room may do so before our
 * connect callback runs).
 */
export function openSilent(port: number, n: number): Promise<net.Socket[]> {
  return Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<net.Socket>((resolve) => {
          const s = net.connect({ port, host: "127.0.0.1" }, () => resolve(s));
          s.once("error", () => resolve(s));
          s.on("data", () => {}); // whatever the server says is ignored
        }),
    ),
  );
}
