/**
 * `--cluster redis://[USER[:PASSWORD]@]HOST[:PORT][/DB]`, parsed once at start.
 */
import { formatHostPort } from "../reactor/address.ts";

/** Where a Redis server is: host, port and database. */
export interface RedisTarget {
  host: string;
  port: number;
  db: number;
  username: string | null;
  password: string | null;
}

/** A `--cluster` value that is not a usable Redis URL. */
export class RedisUrlError extends Error {
  override readonly name = "RedisUrlError";
}

/** The port a `redis://` URL without one means. */
export const DEFAULT_REDIS_PORT = 6379;

/** Parse `redis://HOST[:PORT][/DB]`; throws `RedisUrlError` with a one-line reason. */
export function parseRedisUrl(text: string): RedisTarget {
  const bad = (why: string) => new RedisUrlError(`"${text}" is not a Redis URL: ${why} (expected redis://HOST:PORT[/DB])`);
  if (text.startsWith("rediss://")) throw new RedisUrlError(`"${text}": TLS (rediss://) is not supported; use redis://`);
  if (!text.startsWith("redis://")) throw bad("it must start with redis://");
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw bad("cannot parse it");
  }
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (!host) throw bad("no host");
  const port = url.port === "" ? DEFAULT_REDIS_PORT : Number(url.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw bad("bad port");
  const path = url.pathname.replace(/^\//, "");
  if (path !== "" && !/^\d+$/.test(path)) throw bad(`database "${path}" is not a number`);
  if (url.search || url.hash) throw bad("query strings and fragments are not supported");
  return {
    host,
    port,
    db: path === "" ? 0 : Number(path),
    username: url.username ? decodeURIComponent(url.username) : null,
    password: url.password ? decodeURIComponent(url.password) : null,
  };
}

/** For logs: the URL without its password. */
export function describeTarget(t: RedisTarget): string {
  const user = (t.username ?? "") + (t.password ? ":***" : "");
  return `redis://${user ? `${user}@` : ""}${formatHostPort(t.host, t.port)}/${t.db}`;
}

/** The Redis keys of a room's log (see lib/cluster/script.ts). */
export interface RoomKeys {
  /** The stream: the room's log. */
  readonly log: string;
  /** A hash: the log's epoch, last SEQ and where this epoch started. */
  readonly meta: string;
  /** Prefix of each server run's key holding its last appended local ref. */
  readonly producer: string;
}

/**
 * The keys of a room. Keys live in the URL's database (unlike pub/sub
 * channels, which ignore it), so clusters on different databases of one
 * Redis stay apart.
 */
export function roomKeys(room: string): RoomKeys {
  const base = `select-chat:${room}`;
  return { log: `${base}:log`, meta: `${base}:meta`, producer: `${base}:producer:` };
}

/** The stream of private messages for the server called `node`: other servers add to it, that server reads it. */
export function inboxKey(node: string): string {
  return `select-chat:inbox:${node}`;
}
