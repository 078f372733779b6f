/**
 * The fixed interface between the reactor core and a runtime.
 *
 * Like Redis's ae backends, a backend is small: it creates handles
 * (listen, connect, stdin), tells the reactor when a handle's readiness may
 * have changed, and implements `poll()`, the one place where the process
 * sleeps. Everything else (ready sets, timers, write queues) lives in the
 * core, which imports nothing from Bun or Node.
 *
 * Handles are level-triggered, like sockets under select(): `readiness()`
 * answers from the handle's current state, not from a history of events.
 */
import type { Address } from "./events.ts";
import { formatHostPort } from "./address.ts";
import type { DescriptorBudget } from "./descriptors.ts";

/** Called by a handle whenever its readiness may have risen. */
export type Watcher = (handle: Selectable) => void;

/** What every handle does for the reactor, whatever its kind. */
export interface Selectable {
  /** Current readiness as a `Ready` bitmask. */
  readiness(): number;
  /** Install (or, with null, remove) the one watcher that hears about changes. */
  watch(watcher: Watcher | null): void;
  /**
   * Start or stop pulling bytes from the kernel. A handle nobody reads
   * must not buffer without bound: with reading off, TCP flow control
   * pushes back on the peer.
   */
  setReading(on: boolean): void;
  /** The error that made this handle ERRORED, if any. */
  readonly error: Error | null;
  /** Release the handle. Idempotent. */
  close(): void;
}

/** A listening socket: readable while connections wait to be accepted. */
export interface Listener extends Selectable {
  readonly kind: "listener";
  readonly address: Address;
  /** The next pending connection, or null when the backlog is empty (EAGAIN). */
  accept(): Connection | null;
  /**
   * The accept error that made the listener ERRORED was handled (accept
   * errors such as EMFILE are transient): forget it, so that it is not
   * reported again.
   */
  clearError(): void;
}

/** A byte source that can be received from: a connection, or stdin. */
export interface Readable extends Selectable {
  /**
   * What is buffered, up to `maxBytes` (all of it by default), as recv(2)
   * would give it: null when nothing is there yet (EAGAIN), an empty array
   * at end of stream. Bytes not taken stay buffered and the handle stays
   * readable, so a dispatcher can bound what it takes in one tick.
   */
  recv(maxBytes?: number): Uint8Array | null;
}

/** A connected stream socket. */
export interface Connection extends Readable {
  readonly kind: "connection";
  readonly remote: Address;
  readonly local: Address;
  /**
   * Non-blocking send: returns how many bytes the socket took (possibly 0,
   * when its buffer is full: wait for WRITABLE), or -1 when the connection
   * is gone (the handle is then ERRORED). The caller must not change
   * `bytes` afterwards: a backend may keep a reference to them.
   */
  send(bytes: Uint8Array): number;
  /** Graceful close: send FIN after what was sent; stop reading. */
  close(): void;
  /** Abortive close: drop everything, now. */
  abort(): void;
}

/** The process's standard input, as a readable handle. */
export interface InputStream extends Readable {
  readonly kind: "stream";
}

/**
 * Anything the reactor can watch, told apart by `kind`: narrow with
 * `if (key.handle.kind === "connection")` to reach `recv()`/`send()`.
 */
export type Handle = Listener | Connection | InputStream;

/** A TLS listener's certificate and key. */
export interface TlsServerOptions {
  /** PEM certificate chain. */
  cert: string;
  /** PEM private key. */
  key: string;
}

/** How a TLS client verifies the server. */
export interface TlsClientOptions {
  /** PEM CA certificates to trust instead of the system store. */
  ca?: string;
  /** Skip certificate verification (explicit opt-in only). */
  insecure?: boolean;
  /** Name to verify the certificate against (defaults to the host). */
  serverName?: string;
}

/** Listen backlog when none is given: room for a storm of a few thousand connects. */
export const DEFAULT_BACKLOG = 4096;

/** What `Backend.listen` opens. */
export interface ListenOptions {
  host: string;
  port: number;
  /** Listen backlog (pending connections the kernel queues; capped by net.core.somaxconn). */
  backlog?: number;
  tls?: TlsServerOptions;
  /**
   * The budget every accepted socket holds a descriptor from, from accept
   * (before a TLS handshake) until it is closed; shared with the process's
   * other listeners. A socket that gets none is closed at once, never
   * queued. Without one, nothing is counted.
   */
  descriptors?: DescriptorBudget;
  /**
   * Sent to a plain-TCP connection refused for want of a descriptor, before
   * it is closed (one line, e.g. "Server is full ..."). TLS connections are
   * closed without a word: there is no session to say it in.
   */
  fullMessage?: Uint8Array;
}

/** What `Backend.connect` connects to. */
export interface ConnectOptions {
  host: string;
  port: number;
  tls?: TlsClientOptions;
}

/** Raised when a listener cannot be opened (port taken, bad host, ...). */
export class ListenError extends Error {
  override readonly name = "ListenError";
  constructor(
    readonly host: string,
    readonly port: number,
    readonly reason: string,
  ) {
    super(`cannot listen on ${formatHostPort(host, port)}: ${reason}`);
  }
}

/** Raised when a connection cannot be made (refused, unreachable, TLS, ...). */
export class ConnectError extends Error {
  override readonly name = "ConnectError";
  constructor(
    readonly host: string,
    readonly port: number,
    readonly reason: string,
  ) {
    super(`cannot connect to ${formatHostPort(host, port)}: ${reason}`);
  }
}

// Kept importable from here: most callers format an address they got from a backend.
export { formatHostPort };

/** Turn a runtime's error into a short reason such as "address already in use". */
export function describeError(err: unknown): string {
  const e = err as { code?: string; message?: string } | null;
  const byCode: Record<string, string> = {
    EADDRINUSE: "address already in use",
    EADDRNOTAVAIL: "address not available on this machine",
    EACCES: "permission denied",
    ECONNREFUSED: "connection refused",
    ECONNRESET: "connection reset by peer",
    ETIMEDOUT: "timed out",
    EHOSTUNREACH: "host unreachable",
    ENETUNREACH: "network unreachable",
    ENOTFOUND: "host not found",
    EAI_NONAME: "host not found",
    EMFILE: "too many open files",
    ENOENT: "no such file or directory",
    EISDIR: "is a directory",
  };
  if (e?.code && byCode[e.code]) return byCode[e.code]!;
  if (e?.code) return `${e.code}${e.message ? ` (${e.message})` : ""}`;
  return e?.message ?? String(err);
}

/**
 * A runtime plugged into the reactor. One backend instance serves one
 * reactor (it is that reactor's poller, like an epoll fd); handles it
 * creates may be registered with any reactor of the same runtime.
 *
 * A tick is everything the runtime delivers in one pass of its I/O poll.
 * Backends find the end of that pass themselves (see each backend's
 * `poll`), because only they know their runtime's loop phases.
 */
export interface Backend {
  /** Short name for logs and benchmarks ("bun", "node"). */
  readonly name: string;
  /** Monotonic clock, in milliseconds. */
  now(): number;
  /**
   * Sleep until `wakeup()` has been called and the runtime has finished the
   * I/O pass it was called in, or until `timeoutMs` has passed (Infinity:
   * no limit; 0: only finish the current pass). Only one poll at a time.
   */
  poll(timeoutMs: number): Promise<void>;
  /** End the current or next `poll()` at the end of this I/O pass. */
  wakeup(): void;
  listen(options: ListenOptions): Promise<Listener>;
  connect(options: ConnectOptions): Promise<Connection>;
  /** The process's standard input (one per backend). */
  stdin(): InputStream;
}
