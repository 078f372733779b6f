// An echo server on the reactor: every byte a client sends comes back to it.
import { createBackend } from "../lib/backends/index.ts";
import { type Connection, Interest, type Listener, Reactor } from "../lib/reactor/index.ts";

const backend = await createBackend("bun");
const reactor = new Reactor<"listener" | "client">(backend);
const listener: Listener = await backend.listen({ host: "127.0.0.1", port: Number(process.argv[2] ?? 7000) });
reactor.register(listener, Interest.READ, "listener");
console.log(`echo server on port ${listener.address.port}`);

for (;;) {
  const ready = await reactor.select(); // one tick: flush, sleep, collect what is ready
  for (const key of ready.readable) {
    if (!key.valid) continue; // closed earlier in this tick
    if (key.data === "listener") {
      for (let conn = listener.accept(); conn; conn = listener.accept()) reactor.register(conn, Interest.READ, "client");
      continue;
    }
    const bytes = (key.handle as Connection).recv(); // null: nothing yet; empty: the client closed
    if (bytes?.length === 0) reactor.closeKey(key);
    else if (bytes) reactor.write(key, bytes); // queued; sent once, at the next flush
  }
  for (const key of ready.errored) reactor.closeKey(key, true);
}
