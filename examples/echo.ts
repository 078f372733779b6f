// An echo server on the reactor: every byte a client sends comes back to it.
import { createBackend } from "../lib/backends/index.ts";
import { Interest, isConnectionKey, Reactor } from "../lib/reactor/index.ts";

const backend = await createBackend("bun");
const reactor = new Reactor<null>(backend);
const port = Number(process.argv[2] ?? 7000);
const listener = await backend.listen({ host: "127.0.0.1", port }).catch((err: Error) => {
  console.error(`echo: ${err.message}`); // e.g. "cannot listen on 127.0.0.1:7000: address already in use"
  process.exit(1);
});
reactor.register(listener, Interest.READ, null);
console.log(`echo server on port ${listener.address.port}`);

for (;;) {
  const ready = await reactor.select(); // one tick: flush, sleep, collect what is ready
  for (const key of ready.readable) {
    if (!key.valid) continue; // closed earlier in this tick
    if (key.handle.kind === "listener") {
      for (let conn = key.handle.accept(); conn; conn = key.handle.accept()) reactor.register(conn, Interest.READ, null);
    } else if (isConnectionKey(key)) {
      const bytes = key.handle.recv(); // null: nothing yet; empty: the client closed
      if (bytes?.length === 0) reactor.closeKey(key);
      else if (bytes) reactor.write(key, bytes); // queued; sent once, at the next flush
    }
  }
  for (const key of ready.errored) reactor.closeKey(key, true);
}
