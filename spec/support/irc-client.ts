/**
 * An IRC client for end-to-end tests, on `irc-framework` (the library The
 * Lounge and Kiwi IRC use; not ours): it records what the library makes of
 * the server's lines as events, and lets a test await one instead of
 * sleeping.
 */
import { createRequire } from "node:module";
import { Waiters } from "./waiters.ts";

// biome-ignore lint/suspicious/noExplicitAny: the library has no types
type Any = any;
const IRC = createRequire(import.meta.url)("irc-framework") as { Client: new (options?: Any) => Any };

/** One event the library emitted: its name and what it passed. */
export interface IrcEvent {
  readonly name: string;
  // biome-ignore lint/suspicious/noExplicitAny: whatever the library passes
  readonly data: any;
}

const EVENTS = [
  "registered",
  "join",
  "part",
  "quit",
  "nick",
  "privmsg",
  "action",
  "notice",
  "userlist",
  "irc error",
  "close",
  "nick in use",
  "whois",
];

export class IrcTestClient {
  readonly events: IrcEvent[] = [];
  readonly raw: string[] = [];
  readonly client: Any;
  private readonly waiters = new Waiters();

  constructor(private readonly options: { echo?: boolean } = {}) {
    this.client = new IRC.Client();
    for (const name of EVENTS) {
      this.client.on(name, (data: Any) => {
        this.events.push({ name, data });
        this.waiters.wake();
      });
    }
    this.client.on("raw", (e: Any) => {
      if (e.from_server) this.raw.push(e.line);
      this.waiters.wake();
    });
    this.client.on("socket close", () => {
      this.events.push({ name: "socket close", data: null });
      this.waiters.wake();
    });
  }

  /** Connect and resolve once registered. */
  async connect(port: number, nick: string): Promise<void> {
    this.client.connect({
      host: "127.0.0.1",
      port,
      nick,
      username: nick,
      gecos: `${nick} in a test`,
      auto_reconnect: false,
      enable_echomessage: this.options.echo ?? false,
    });
    await this.next("registered", () => true);
  }

  /** Resolves with the first event called `name` (from the start) for which `test` holds. */
  async next(name: string, test: (data: Any) => boolean, timeoutMs = 10_000): Promise<Any> {
    let found: IrcEvent | undefined;
    await this.waiters.until(
      () => (found = this.events.find((e) => e.name === name && test(e.data))) !== undefined,
      `the IRC event ${name}`,
      timeoutMs,
      () => `; raw: ${JSON.stringify(this.raw.slice(-15))}`,
    );
    return found!.data;
  }

  /** Resolves once a raw line from the server matches `pattern`. */
  async rawLine(pattern: RegExp, timeoutMs = 10_000): Promise<string> {
    let found: string | undefined;
    await this.waiters.until(
      () => (found = this.raw.find((l) => pattern.test(l))) !== undefined,
      String(pattern),
      timeoutMs,
      () => `; raw: ${JSON.stringify(this.raw.slice(-15))}`,
    );
    return found!;
  }

  close(): void {
    this.client.connection?.end?.();
    this.client.connection?.transport?.close?.();
  }
}
