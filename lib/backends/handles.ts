/**
 * Readiness bookkeeping shared by the callback-driven backends.
 *
 * Bun and Node push events at us (data, end, drain, close); select() wants
 * state it can ask about. These classes keep that state — bytes received
 * but not yet recv()'d, EOF, the last error, whether the last send was cut
 * short — and answer `readiness()` from it, the way a kernel socket does.
 * The runtime-specific subclasses only translate events and do the I/O.
 */
import type { Address } from "../reactor/events.ts";
import { Ready } from "../reactor/events.ts";
import type { Connection, Selectable, Watcher } from "../reactor/backend.ts";
import { ChunkQueue } from "../bytes.ts";

/** What recv() returns at end of stream. */
export const EOF: Uint8Array = new Uint8Array(0);

/**
 * Unread input past which a stream stops reading from the kernel until
 * recv() drains it, so a peer cannot grow our memory faster than we read:
 * the rest waits in the kernel, where TCP flow control pushes back on the
 * sender. Small, because a dispatcher that bounds its intake per tick
 * leaves input here, and a thousand senders each holding a megabyte
 * would be a gigabyte.
 */
export const INBOUND_HIGH_WATER = 64 * 1024;

/** Readiness bookkeeping shared by every stream handle: inbound bytes, EOF, errors, watcher. */
export abstract class StreamHandle implements Selectable {
  error: Error | null = null;
  /** Unread input: usually one chunk per tick. */
  private readonly inbound = new ChunkQueue();
  private eof = false;
  /** The last send was cut short; cleared by the runtime's drain event. */
  private sendBlocked = false;
  /** The socket is closed on our side or the peer's: sends fail. */
  protected gone = false;
  private watcher: Watcher | null = null;
  private wantReading = true;
  /** Whether the runtime is currently told not to read (sockets start reading). */
  protected paused = false;

  /** Stop the runtime from reading (it will keep what it already has). */
  protected abstract pauseReading(): void;
  protected abstract resumeReading(): void;
  abstract close(): void;

  readiness(): number {
    let r = 0;
    if (this.inbound.bytes > 0 || this.eof) r |= Ready.READABLE;
    if (!this.sendBlocked && !this.gone) r |= Ready.WRITABLE;
    if (this.error) r |= Ready.ERRORED;
    return r;
  }

  watch(watcher: Watcher | null): void {
    this.watcher = watcher;
  }

  setReading(on: boolean): void {
    this.wantReading = on;
    this.updatePause();
  }

  recv(maxBytes = Infinity): Uint8Array | null {
    if (this.inbound.bytes > 0) {
      const data = maxBytes >= this.inbound.bytes ? this.inbound.takeAll() : this.inbound.take(Math.max(1, maxBytes));
      this.updatePause();
      return data;
    }
    return this.eof ? EOF : null;
  }

  // ---- events, called by the runtime glue ----

  protected onData(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    const wasEmpty = this.inbound.bytes === 0;
    this.inbound.push(chunk);
    if (this.inbound.bytes > INBOUND_HIGH_WATER) this.updatePause();
    if (wasEmpty) this.notify();
  }

  /** The peer sent FIN: recv() returns EOF once the buffered bytes are taken. */
  protected onEnd(): void {
    if (this.eof) return;
    this.eof = true;
    this.notify();
  }

  protected onDrain(): void {
    if (!this.sendBlocked) return;
    this.sendBlocked = false;
    this.notify();
  }

  /** The socket is closed; `err` when it was a failure (reset, TLS, ...). */
  protected onClosed(err?: Error | null): void {
    this.gone = true;
    if (err && !this.error) this.error = err;
    else if (!err) this.eof = true;
    this.notify();
  }

  protected onError(err: Error): void {
    if (!this.error) this.error = err;
    this.notify();
  }

  /** Record the outcome of a send for readiness; returns what send() should. */
  protected recordSend(taken: number, wanted: number): number {
    if (taken < 0) {
      this.gone = true;
      this.onError(this.error ?? new Error("connection is closed"));
      return -1;
    }
    if (taken < wanted) this.sendBlocked = true;
    return taken;
  }

  protected notify(): void {
    this.watcher?.(this);
  }

  private updatePause(): void {
    const pause = !this.wantReading || this.inbound.bytes > INBOUND_HIGH_WATER;
    if (pause === this.paused || this.gone) return;
    this.paused = pause;
    if (pause) this.pauseReading();
    else this.resumeReading();
  }
}

/** The part of a runtime's socket that pausing and closing need; Bun's and Node's both have it. */
export interface PausableSocket {
  pause(): unknown;
  resume(): unknown;
  /** Graceful close: FIN after what was written. */
  end(): unknown;
}

/** A connected socket: pausing and closing are the same on both runtimes, only a reset differs. */
export abstract class SocketHandle extends StreamHandle {
  protected abstract readonly socket: PausableSocket;
  /** Drop everything and reset the connection (RST). */
  protected abstract resetSocket(): void;

  protected pauseReading(): void {
    this.socket.pause();
  }

  protected resumeReading(): void {
    this.socket.resume();
  }

  /** Graceful close: FIN after what was sent; stop reading. Idempotent. */
  close(): void {
    if (this.gone) return;
    this.gone = true;
    this.socket.end();
  }

  /** Abortive close: drop everything, now. Idempotent. */
  abort(): void {
    if (this.gone) return;
    this.gone = true;
    this.resetSocket();
  }
}

/** A listener's accept backlog: readable while connections wait. */
export abstract class ListenerHandle<C extends Connection> implements Selectable {
  readonly kind = "listener" as const;
  error: Error | null = null;
  private backlog: C[] = [];
  private head = 0;
  private watcher: Watcher | null = null;
  abstract readonly address: Address;
  abstract close(): void;

  readiness(): number {
    let r = this.head < this.backlog.length ? Ready.READABLE : Ready.NONE;
    if (this.error) r |= Ready.ERRORED;
    return r;
  }

  watch(watcher: Watcher | null): void {
    this.watcher = watcher;
  }

  /** Listeners have no byte stream; accepting is the reading. */
  setReading(_on: boolean): void {}

  accept(): C | null {
    if (this.head >= this.backlog.length) return null;
    const c = this.backlog[this.head]!;
    this.backlog[this.head++] = undefined as unknown as C;
    if (this.head === this.backlog.length) {
      this.backlog = [];
      this.head = 0;
    }
    return c;
  }

  /** Number of connections waiting in the backlog. */
  get pending(): number {
    return this.backlog.length - this.head;
  }

  protected onConnection(conn: C): void {
    const wasEmpty = this.head >= this.backlog.length;
    this.backlog.push(conn);
    if (wasEmpty) this.watcher?.(this);
  }

  protected onError(err: Error): void {
    this.error = err;
    this.watcher?.(this);
  }

  clearError(): void {
    this.error = null;
  }
}
