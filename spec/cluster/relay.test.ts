// The cluster relay in-process, on the node:net backend and a real
// redis-server, without a chat server: its Redis links are `Service`s that a
// few lines of dispatch serve, and the before-sleep hook ends its tick. A
// tick's lines go out as few PUBLISHes as the message size allows, each
// starting with the node id, and arrive at the other node in order.
import t from "tap";
import { NodeBackend } from "../../lib/backends/node.ts";
import { Reactor, type ReadySets } from "../../lib/reactor/reactor.ts";
import type { Service } from "../../lib/reactor/service.ts";
import { ClusterRelay } from "../../lib/cluster/relay.ts";
import { parseRedisUrl } from "../../lib/cluster/url.ts";
import { RedisServer, redisMissing } from "../support/redis.ts";

const skip = redisMissing();

function serveServices(ready: ReadySets<Service>): void {
  for (const key of ready.readable) if (key.valid) key.data.onReadable();
  for (const key of ready.errored) if (key.valid) key.data.onErrored();
}

/** One node: a reactor of its own, a relay on it, and what the relay hands to local clients. */
async function startNode(redisUrl: string, nodeId: string) {
  const reactor = new Reactor<Service>(new NodeBackend());
  const logs: string[] = [];
  const injected: string[] = [];
  const waiters: Array<() => void> = [];
  const wake = () => {
    for (const w of [...waiters]) w();
  };
  const relay = new ClusterRelay(reactor, {
    target: parseRedisUrl(redisUrl),
    room: "relay-test",
    queueBytes: 16 << 20,
    nodeId,
    log: (line) => {
      logs.push(line);
      wake();
    },
  });
  reactor.setBeforeSleep(() => relay.endTick());
  const running = reactor.run(serveServices);
  relay.start((bytes) => {
    injected.push(Buffer.from(bytes).toString("latin1"));
    wake();
  });
  /** Resolves once `test` holds (checked after every log line and injected message). */
  const until = (test: () => boolean) =>
    new Promise<void>((resolve) => {
      const check = () => {
        if (!test()) return;
        waiters.splice(waiters.indexOf(check), 1);
        resolve();
      };
      waiters.push(check);
      check();
    });
  const stop = async () => {
    relay.close();
    reactor.stop();
    await running;
    reactor.close();
  };
  return { relay, logs, injected, until, stop };
}

t.test("a tick's burst is split at the message size, relayed in order, and not echoed to its sender", { skip }, async (t) => {
  const redis = await RedisServer.start();
  t.teardown(() => redis.kill());
  const a = await startNode(redis.url, "aaaa");
  const b = await startNode(redis.url, "bbbb");
  t.teardown(() => Promise.all([a.stop(), b.stop()]));
  for (const node of [a, b]) await node.until(() => node.logs.some((l) => l.startsWith("Cluster link up")));

  // 600 lines of ~1 KiB, all in one tick: more than two 256 KiB messages.
  const prefix = new TextEncoder().encode("<a> ");
  const lines = Array.from({ length: 600 }, (_, i) => `${String(i).padStart(4, "0")} ${"x".repeat(1000)}`);
  for (const line of lines) a.relay.line(prefix, new TextEncoder().encode(line));
  a.relay.notice("Client (127.0.0.1, 1) quits");
  const expected = lines.map((l) => `<a> ${l}\n`).join("") + "Client (127.0.0.1, 1) quits\n";
  await b.until(() => b.injected.join("").length >= expected.length);

  t.equal(b.injected.join(""), expected, "every line once, in order, without the node id header");
  t.equal(a.relay.stats.published, 3, "two full messages, then the rest of the tick");
  t.equal(a.relay.stats.linesOut, 601);
  t.equal(b.relay.stats.received, 3);
  // Redis sent a's messages back to a's subscriber before it took b's reply:
  // once a has the reply, it has seen (and dropped) its own messages.
  b.relay.notice("reply from b");
  b.relay.endTick(); // b's reactor sleeps: end the tick as its hook would
  await a.until(() => a.injected.length > 0);
  t.same(a.injected, ["reply from b\n"], "the sender does not get its own messages back");
});
