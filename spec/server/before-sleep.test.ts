// The server's one before-sleep hook runs its parts in a stated order: check
// the readers' backlogs (evicting slow ones), seal the room, end the relay's
// tick. So a slow reader's eviction notice reaches the other local clients
// and the cluster in the tick of the eviction, not a tick later. In-process, on the
// node:net backend, with a relay that records what it gets per tick.
import t from "tap";
import { NodeBackend } from "../../lib/backends/node.ts";
import { Reactor } from "../../lib/reactor/reactor.ts";
import { defaultLimits } from "../../lib/server/limits.ts";
import type { ServerAttachment } from "../../lib/server/session.ts";
import { ByteBuilder } from "../../lib/bytes.ts";
import { LineCodec } from "../../lib/codecs/line.ts";
import type { Relay, RelaySink } from "../../lib/server/relay.ts";
import type { EntryContent } from "../../lib/chat/entry.ts";
import { ChatServer } from "../../lib/server/server.ts";
import { LineClient } from "../support/line-client.ts";

/** What the relay was told, in which reactor tick, and in which tick it was sent on. */
interface Relayed {
  text: string;
  toldIn: number;
  sentIn: number;
  /** Bytes queued for the local clients when the relay's tick ended. */
  queuedLocally: number;
}

/** A stand-in for the cluster relay: records every line and notice per tick. */
class RecordingRelay implements Relay {
  readonly relayed: Relayed[] = [];
  private open: { text: string; toldIn: number }[] = [];
  private waiters: Array<() => void> = [];

  constructor(
    private readonly tick: () => number,
    private readonly queuedLocally: () => number,
  ) {}

  start(_sink: RelaySink): void {}
  openRoom(_room: string): void {}
  closeRoom(_room: string): void {}
  opening(): boolean {
    return false;
  }
  sendPrivate(): boolean {
    return false;
  }

  append(room: string, entry: EntryContent): boolean {
    // The entry as a TCP client reads it (without newline).
    const out = new ByteBuilder();
    new LineCodec("").entry(out, room, entry, null, false);
    this.open.push({ text: Buffer.from(out.take()).toString().slice(0, -1), toldIn: this.tick() });
    return true;
  }

  endTick(): void {
    const sentIn = this.tick();
    const queuedLocally = this.queuedLocally();
    for (const n of this.open) this.relayed.push({ ...n, sentIn, queuedLocally });
    this.open = [];
    for (const w of [...this.waiters]) w();
  }

  close(): void {
    this.endTick();
  }

  /** Resolves once a relayed text contains `part`. */
  waitFor(part: string): Promise<Relayed> {
    return new Promise((resolve) => {
      const check = () => {
        const found = this.relayed.find((r) => r.text.includes(part));
        if (!found) return;
        this.waiters.splice(this.waiters.indexOf(check), 1);
        resolve(found);
      };
      this.waiters.push(check);
      check();
    });
  }
}

t.test("a slow reader's eviction notice reaches the others and the relay in the tick of the eviction", async (t) => {
  const backend = new NodeBackend();
  const reactor = new Reactor<ServerAttachment>(backend);
  const listener = await backend.listen({ host: "127.0.0.1", port: 0 });
  let server: ChatServer | null = null;
  const queuedLocally = () => server!.sessions().reduce((sum, p) => sum + p.key.pendingBytes, 0);
  // A tick's flush (and so the before-sleep hook) runs between two collects: within it, `ticks` stays put.
  const relay = new RecordingRelay(() => reactor.stats.ticks, queuedLocally);
  const log: string[] = [];
  const maxOutbound = 64 * 1024;
  const limits = { ...defaultLimits, maxOutbound, rate: 0 };
  server = new ChatServer(reactor, listener, { relay, limits, log: (line) => log.push(line) });
  const running = server.run();
  t.teardown(async () => {
    server!.shutdown(0);
    await running;
    reactor.close();
  });

  const slow = await LineClient.connect(listener.address.port);
  await relay.waitFor(`Client ${slow.addr} connected`);
  slow.socket.pause(); // never reads again: once the kernel's buffers are full, its backlog grows
  const other = await LineClient.connect(listener.address.port);
  await relay.waitFor(`Client ${other.addr} connected`);
  // 16 MiB: more than loopback's socket buffers hold, so the backlog passes twice the limit.
  const line = `${"x".repeat(32 * 1024 - 1)}\n`;
  for (let i = 0; i < 512; i++) other.send(line);
  const eviction = `Client ${slow.addr} is offline (too slow)`;
  await other.waitFor(`${eviction}\n`, 30_000);
  other.send("after\n"); // one more tick: a notice left for later would be sent on in it
  await relay.waitFor("after");

  const notice = relay.relayed.find((r) => r.text === eviction)!;
  t.ok(notice, "the eviction notice was relayed");
  t.equal(notice.sentIn, notice.toldIn, "relayed in the tick of the eviction, not the next");
  t.ok(notice.queuedLocally >= eviction.length + 1, "and already queued for the other client when the relay's tick ended");
  const texts = relay.relayed.map((r) => r.text);
  t.equal(texts.filter((text) => text === eviction).length, 1, "relayed once");
  t.ok(texts.indexOf(eviction) < texts.indexOf(`${other.from} after`), "before the next line");
  t.equal(texts.filter((text) => text.startsWith(other.from)).length, 513, "every line relayed once");
  t.ok(log.includes(eviction), "the eviction is logged");
  other.end();
});
