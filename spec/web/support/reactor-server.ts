/**
 * A tiny select() loop on the web gateway's listener, for
 * spec/web/reactor.test.ts (run with Bun): no chat server, only the
 * reactor, the Bun backend and the gateway.
 *
 *   each line a client sends -> `{"k":"line","s":"HOST:PORT","x":LINE}` to every client;
 *   `flood N`                 -> N events of 16 KiB to that client only;
 *   EOF or error              -> the key is closed and `gone HOST:PORT ERROR` printed.
 *
 * It prints `ready WS_URL`, then `backlog HOST:PORT BYTES` once output
 * waits for a client in the reactor's queue (what the handle refused), and
 * `descriptors N` after every accept or departure.
 *
 *   bun spec/web/support/reactor-server.ts [MAX_LINE [DESCRIPTORS]]
 */
import { BunBackend } from "../../../lib/backends/bun.ts";
import type { Connection } from "../../../lib/reactor/backend.ts";
import { formatHostPort } from "../../../lib/reactor/address.ts";
import { DescriptorBudget } from "../../../lib/reactor/descriptors.ts";
import { Interest, Ready } from "../../../lib/reactor/events.ts";
import { isConnectionKey, Reactor, type SelectorKey } from "../../../lib/reactor/reactor.ts";
import { startGateway } from "../../../lib/web/gateway.ts";

const maxLine = Number(process.argv[2] ?? 1024);
const budget = new DescriptorBudget(Number(process.argv[3] ?? 100));
const gateway = startGateway({ host: "127.0.0.1", port: 0, maxLine, descriptors: budget });
const reactor = new Reactor<string>(new BunBackend());
const listenerKey = reactor.register(gateway.listener, Interest.READ, "listener");
const clients = new Set<SelectorKey<string, Connection>>();
const reported = new Set<string>();
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const say = (line: string) => process.stdout.write(`${line}\n`);

function leave(key: SelectorKey<string, Connection>): void {
  clients.delete(key);
  say(`gone ${key.data} ${key.handle.error?.message ?? "EOF"}`);
  reactor.closeKey(key);
  say(`descriptors ${budget.used}`);
}

// Timers run after a flush: output still queued then is what a handle did not take.
const checkBacklogs = () => {
  for (const key of clients) {
    if (key.pendingBytes > 0 && !reported.has(key.data)) {
      reported.add(key.data);
      say(`backlog ${key.data} ${key.pendingBytes}`);
    }
  }
  reactor.setTimer(50, checkBacklogs);
};
reactor.setTimer(50, checkBacklogs);

say(`ready ${gateway.wsUrl}`);
await reactor.run((ready) => {
  for (const key of ready.readable) {
    if (!key.valid) continue;
    if (key === listenerKey) {
      for (let conn = gateway.listener.accept(); conn; conn = gateway.listener.accept()) {
        const c = conn as Connection;
        const name = formatHostPort(c.remote.host, c.remote.port);
        clients.add(reactor.register(c, Interest.READ, name) as SelectorKey<string, Connection>);
        say(`descriptors ${budget.used}`);
      }
      continue;
    }
    if (!isConnectionKey(key)) continue;
    const data = key.handle.recv();
    if (data === null) continue;
    if (data.length === 0) {
      leave(key);
      continue;
    }
    for (const line of decoder.decode(data).split("\n")) {
      if (line === "") continue;
      const flood = /^flood (\d+)$/.exec(line);
      if (flood) {
        const event = encoder.encode(`${JSON.stringify({ k: "line", s: "flood", x: "z".repeat(16 * 1024) })}\n`);
        for (let i = 0; i < Number(flood[1]); i++) reactor.write(key, event);
        continue;
      }
      const event = encoder.encode(`${JSON.stringify({ k: "line", s: key.data, x: line })}\n`);
      for (const c of clients) reactor.write(c, event);
    }
  }
  for (const key of ready.errored) {
    if (key.valid && isConnectionKey(key) && key.handle.readiness() & Ready.ERRORED) leave(key);
  }
});
