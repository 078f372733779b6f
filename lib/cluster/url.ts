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

/**
 * The pub/sub channel of a room. Redis pub/sub ignores the selected
 * database (a message published "in" db 1 reaches subscribers "in" db 2),
 * so the database number is part of the name: clusters configured on
 * different databases of one Redis stay apart, as the URL suggests.
 */
export function roomChannel(db: number, room: string): string {
  return `select-chat:${db}:${room}`;
}
