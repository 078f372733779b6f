/**
 * What the chat server tells about its room to the outside: a small module
 * of its own so that a relay (lib/cluster/) depends on this interface only,
 * not on the server.
 */

/**
 * Hears every line and notice the room gets from this server's own clients
 * (lib/cluster/ publishes them to the other servers of a cluster). What
 * comes back from elsewhere is injected with `room.broadcast(null, ...)`.
 */
export interface Relay {
  /** A client's line: `prefix` is its `<HOST:PORT> `, `line` has no newline. */
  line(prefix: Uint8Array, line: Uint8Array): void;
  /** A join/quit/offline notice, without newline. */
  notice(text: string): void;
  /**
   * The tick's last word, from the server's before-sleep hook after
   * everything the tick relays (eviction notices included): send it on.
   */
  endTick(): void;
  /** The server is shutting down: send what is pending, then disconnect. */
  close(): void;
}
