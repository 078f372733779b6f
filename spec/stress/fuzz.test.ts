// Fuzz: many clients send random bytes in random chunks and vanish in
// random ways (reset, half-close, mid-line, silent, never reading) while
// three well-behaved clients chat. Afterwards every well-behaved message
// must have reached every other well-behaved client exactly once and in
// order, and a fresh client must still be able to chat.
import * as net from "node:net";
import t from "tap";
import { startServer } from "../support/bun.ts";
import { BulkReader } from "../support/bulk-reader.ts";
import { LineClient } from "../support/line-client.ts";

const CHAOS_CLIENTS = 25;
const CHAOS_MS = 4000;
const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);

/** mulberry32: a small seeded PRNG, so a failing run can be replayed with FUZZ_SEED. */
function prng(s: number): () => number {
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let x = Math.imul(s ^ (s >>> 15), 1 | s);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 2 ** 32;
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One chaos client's life: connect, misbehave a little, leave in a random way. */
async function chaosLife(port: number, rand: () => number, until: number): Promise<void> {
  const socket = net.connect({ host: "127.0.0.1", port });
  socket.on("error", () => {});
  if (rand() < 0.5) socket.resume(); // the others never read
  await new Promise<void>((resolve) => {
    socket.once("connect", () => resolve());
    socket.once("close", () => resolve());
  });
  const actions = Math.floor(rand() * 20);
  for (let i = 0; i < actions && Date.now() < until && !socket.destroyed; i++) {
    const length = Math.floor(rand() * 2000);
    const bytes = Buffer.alloc(length);
    for (let j = 0; j < length; j++) {
      const kind = rand();
      bytes[j] = kind < 0.05 ? 10 : kind < 0.08 ? 0 : kind < 0.1 ? 0xff : Math.floor(rand() * 256);
    }
    socket.write(bytes);
    await sleep(rand() * 30);
  }
  const how = rand();
  if (how < 0.3) socket.resetAndDestroy();
  else if (how < 0.6) socket.end();
  else if (how < 0.8) {
    socket.write("q\n");
    socket.end();
  } else socket.destroy();
}

t.test(`fuzz (seed ${seed})`, async (t) => {
  const server = await startServer();
  t.teardown(() => server.stop());
  const rand = prng(seed);

  // Well-behaved clients: each sends numbered lines and checks everyone else's.
  const names = ["A", "B", "C"];
  // A line is a well-behaved client's only if it starts with that client's
  // sender prefix: a chaos client's random bytes may spell `B:3` too, but
  // the server puts the chaos client's own prefix in front of them.
  const senders = new Map<string, string>(); // `<HOST:PORT> ` -> name
  const nextSeqs = new Map<string, Map<string, number>>(); // reader -> (sender -> next seq; Infinity after END)
  const errors: string[] = [];
  let freshLine = ""; // set once the fresh client exists
  let freshSeen = false;
  const good: { name: string; reader: BulkReader }[] = [];
  for (const name of names) {
    const nextSeq = new Map<string, number>();
    nextSeqs.set(name, nextSeq);
    const reader = await BulkReader.connect(server.port, (line) => {
      if (freshLine && line === freshLine) freshSeen = true;
      const prefix = /^<[^>]+> /.exec(line)?.[0];
      const sender = prefix === undefined ? undefined : senders.get(prefix);
      if (sender === undefined) return;
      const text = line.slice(prefix!.length);
      const match = /^([ABC]):(\d+|END)$/.exec(text);
      if (!match || match[1] !== sender) return void errors.push(`${name} got ${JSON.stringify(line)} from ${sender}`);
      const next = nextSeq.get(sender) ?? 0;
      if (next === Infinity) return void errors.push(`${name} got ${JSON.stringify(line)} after ${sender}:END`);
      const seq = match[2] === "END" ? -1 : Number(match[2]);
      if (seq !== -1 && seq !== next) errors.push(`${name} got ${sender}:${seq}, expected ${next}`);
      nextSeq.set(sender, seq === -1 ? Infinity : next + 1);
    });
    await server.waitFor(`Client (127.0.0.1, ${reader.port}) connected`);
    senders.set(`<127.0.0.1:${reader.port}> `, name);
    good.push({ name, reader });
  }
  const sent = new Map<string, number>(names.map((name) => [name, 0]));

  const until = Date.now() + CHAOS_MS;
  const chaos = Array.from({ length: CHAOS_CLIENTS }, async () => {
    while (Date.now() < until) await chaosLife(server.port, rand, until);
  });
  const talk = (async () => {
    while (Date.now() < until) {
      for (const client of good) {
        const seq = sent.get(client.name)!;
        client.reader.socket.write(`${client.name}:${seq}\n`);
        sent.set(client.name, seq + 1);
      }
      await sleep(10);
    }
    for (const client of good) client.reader.socket.write(`${client.name}:END\n`);
  })();
  await Promise.all([...chaos, talk]);

  for (const client of good) {
    const nextSeq = nextSeqs.get(client.name)!;
    const others = good.filter((other) => other !== client);
    await client.reader.waitUntil(
      () => others.every((other) => nextSeq.get(other.name) === Infinity),
      `${client.name}: END from every other well-behaved client`,
    );
  }
  t.same(errors, [], "no well-behaved line lost, repeated or out of order");
  for (const client of good) t.notOk(client.reader.closed, `${client.name} is still connected`);
  t.comment(`well-behaved lines sent: ${[...sent.values()].join(", ")}`);

  const fresh = await LineClient.connect(server.port);
  await server.waitFor(`Client ${fresh.addr} connected`);
  freshLine = `${fresh.from} fresh after the storm`;
  fresh.send("fresh after the storm\n");
  await t.resolves(
    good[0]!.reader.waitUntil(() => freshSeen, "the fresh client's line"),
    "a fresh client can still chat",
  );
});
