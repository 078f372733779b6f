/**
 * End-to-end cluster helpers: `bun bin/server.ts --cluster` processes
 * sharing a real redis-server, clients on each, steady traffic, and the
 * check that every line reached every other client exactly once, in the
 * stream's one order.
 */
import { LineClient } from "../../support/line-client.ts";
import { startServer, type ServerProcess } from "../../support/bun.ts";
import { readStream, type RedisClient } from "./redis-client.ts";

/** Start one server per node name, in that order. */
export async function clusterOf(
  t: { teardown(fn: () => unknown): void },
  redisUrl: string,
  nodes: string[],
  extra: string[] = [],
): Promise<ServerProcess[]> {
  const servers: ServerProcess[] = [];
  for (const node of nodes) {
    const s = await startServer(["--cluster", redisUrl, "--node", node, ...extra]);
    t.teardown(() => s.stop());
    servers.push(s);
  }
  for (const s of servers) await s.waitFor("Cluster link up");
  return servers;
}

/** The messages in what a client received: `[from, text]` for each `<FROM> text` line. */
export function messages(received: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const line of received.split("\n")) {
    const m = /^<([^>]+)> (.*)$/.exec(line);
    if (m) out.push([m[1]!, m[2]!]);
  }
  return out;
}

/** One client of the traffic: where it is and what it sent. */
interface Talker {
  client: LineClient;
  /** `s2c1`: server 2 (1-based), client 1. */
  id: string;
  server: number;
  sent: string[];
  timer: NodeJS.Timeout | null;
}

/** What a check found wrong, one line per problem (empty: all well). */
export type Problems = string[];

/**
 * Clients on every server sending numbered lines at a steady pace
 * (`s1c0-17`), and the check of what each received.
 */
export class Traffic {
  readonly talkers: Talker[] = [];

  private constructor() {}

  /** `perServer` clients on each server; resolves once every client has heard every other say hello. */
  static async start(servers: ServerProcess[], perServer: number): Promise<Traffic> {
    const traffic = new Traffic();
    for (const [i, s] of servers.entries()) {
      for (let k = 0; k < perServer; k++) {
        const client = await LineClient.connect(s.port);
        await client.joined(); // in the room before anyone speaks
        traffic.talkers.push({ client, id: `s${i + 1}c${k}`, server: i, sent: [], timer: null });
      }
    }
    for (const talker of traffic.talkers) traffic.say(talker, `${talker.id}-hello`);
    await traffic.untilAllHeard("hello");
    return traffic;
  }

  private say(talker: Talker, text: string): void {
    talker.sent.push(text);
    talker.client.send(`${text}\n`);
  }

  /** Every client sends a line every `everyMs`. */
  flow(everyMs: number): void {
    for (const talker of this.talkers) {
      let n = 0;
      talker.timer = setInterval(() => this.say(talker, `${talker.id}-${n++}`), everyMs);
    }
  }

  /** Resolves once `client` has received `count` more lines from other servers than it had. */
  async moreFromElsewhere(talker: Talker, count: number, timeoutMs = 20_000): Promise<void> {
    const remote = () => messages(talker.client.received).filter(([from]) => from.includes("@")).length;
    const target = remote() + count;
    await talker.client.waitUntil(() => remote() >= target, `${count} more lines from other servers`, timeoutMs);
  }

  /** Stop sending; every client says its last line; resolves once every client has heard all of them. */
  async stop(timeoutMs = 30_000): Promise<void> {
    for (const talker of this.talkers) {
      if (talker.timer) clearInterval(talker.timer);
      talker.timer = null;
    }
    for (const talker of this.talkers) this.say(talker, `${talker.id}-done`);
    await this.untilAllHeard("done", timeoutMs);
  }

  /** Resolves once each client has received `ID-word` from every other client. */
  private async untilAllHeard(word: string, timeoutMs = 20_000): Promise<void> {
    for (const listener of this.talkers) {
      const wanted = this.talkers.filter((o) => o !== listener).map((o) => `> ${o.id}-${word}\n`);
      await listener.client.waitUntil((r) => wanted.every((w) => r.includes(w)), `every ${word}`, timeoutMs);
    }
  }

  close(): void {
    for (const talker of this.talkers) {
      if (talker.timer) clearInterval(talker.timer);
      talker.client.reset();
    }
  }

  /** Lines sent in all. */
  get sentCount(): number {
    return this.talkers.reduce((n, x) => n + x.sent.length, 0);
  }

  /**
   * The check: every line any client sent reached every other client
   * exactly once and in the order sent; the stream holds each once; and
   * each client got the lines from other servers in the stream's order.
   */
  async check(redis: RedisClient, streamKey: string): Promise<Problems> {
    const problems: Problems = [];
    // The stream's order of the test's lines (retention holds them all).
    const order = new Map<string, number>();
    const stream = await readStream(redis, streamKey);
    for (const [i, e] of stream.entries()) {
      if (e.f.k !== "line") continue;
      const text = e.f.m!;
      if (order.has(text)) problems.push(`the stream holds "${text}" twice`);
      order.set(text, i);
    }
    const byId = new Map(this.talkers.map((x) => [x.id, x]));
    for (const x of this.talkers) for (const text of x.sent) if (!order.has(text)) problems.push(`the stream lacks "${text}"`);
    for (const listener of this.talkers) {
      const got = new Map<string, string[]>();
      let lastIndex = -1;
      for (const [, text] of messages(listener.client.received)) {
        const sender = byId.get(text.split("-")[0]!);
        if (!sender) continue;
        got.set(sender.id, [...(got.get(sender.id) ?? []), text]);
        if (sender.server === listener.server) continue;
        const index = order.get(text) ?? -1;
        if (index < lastIndex) problems.push(`${listener.id} got "${text}" out of the stream's order`);
        lastIndex = Math.max(lastIndex, index);
      }
      for (const sender of this.talkers) {
        if (sender === listener) continue;
        const lines = got.get(sender.id) ?? [];
        if (lines.join("\n") !== sender.sent.join("\n")) {
          const missing = sender.sent.filter((l) => !lines.includes(l)).length;
          const twice = lines.length - new Set(lines).size;
          problems.push(
            `${listener.id} got ${lines.length} of ${sender.sent.length} lines from ${sender.id} (${missing} missing, ${twice} twice, or out of order)`,
          );
        }
      }
      if (got.has(listener.id)) problems.push(`${listener.id} got its own lines back`);
    }
    return problems;
  }
}
