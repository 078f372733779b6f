/**
 * The server's log lines: each has a timestamp and, when it is about a
 * client, the client's address.
 *
 *   text: `2026-11-24T18:44:14.123Z 127.0.0.1:5001 Client (127.0.0.1, 5001) connected`
 *         (`-` in place of the address for lines about the server itself)
 *   json: `{"time":"2026-11-24T18:44:14.123Z","client":"127.0.0.1:5001","msg":"..."}`
 *
 * `quiet` drops the lines about clients (connects, quits, renames) and
 * keeps the rest: start and stop, errors, `--stats` summaries.
 */
import { formatHostPort } from "../reactor/address.ts";
import type { Address } from "../reactor/events.ts";

/** How log lines are written. */
export type LogFormat = "text" | "json";

/** Logger settings. */
export interface LoggerOptions {
  format: LogFormat;
  quiet: boolean;
  /** Where finished lines go (with their newline). */
  write: (line: string) => void;
  /** Wall clock, ms since the epoch (a parameter so tests can fix it). */
  clock?: () => number;
}

/** A log function, shaped like `ChatServerOptions.log`. */
export type Log = (text: string, client?: Address) => void;

/** Make the log function for `options`. */
export function createLogger(options: LoggerOptions): Log {
  const clock = options.clock ?? Date.now;
  return (text, client) => {
    if (client && options.quiet) return;
    const time = new Date(clock()).toISOString();
    const where = client ? formatHostPort(client.host, client.port) : undefined;
    options.write(
      options.format === "json"
        ? JSON.stringify(where ? { time, client: where, msg: text } : { time, msg: text }) + "\n"
        : `${time} ${where ?? "-"} ${text}\n`,
    );
  };
}
