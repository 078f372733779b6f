/**
 * Event bitmasks shared by the reactor and its backends.
 *
 * `Interest` is what a registration asks to be told about (select()'s
 * read/write lists); `Ready` is what a handle reports (select()'s three
 * result lists). ERRORED is always reported, whatever the interest, as
 * poll(2) always reports POLLERR.
 */

/** What a registration wants to hear about. Combine with `|`. */
export enum Interest {
  NONE = 0,
  READ = 1,
  WRITE = 2,
}

/** What a handle is ready for right now (level-triggered). */
export enum Ready {
  NONE = 0,
  /** Bytes or EOF to receive, or connections to accept. */
  READABLE = 1,
  /** The socket would take at least one byte without blocking. */
  WRITABLE = 2,
  /** The handle failed; the error is on `handle.error`. */
  ERRORED = 4,
}

/** An endpoint address as the original program printed it: `(HOST, PORT)`. */
export interface Address {
  readonly host: string;
  readonly port: number;
}
