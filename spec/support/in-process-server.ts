/**
 * A ChatServer in the test's own process, on the node:net backend: `ticks`
 * wakes after each of its dispatches, so a test can wait for the server to
 * have taken something without sleeping; it shuts down with the test.
 */
import { NodeBackend } from "../../lib/backends/node.ts";
import { Reactor } from "../../lib/reactor/index.ts";
import { ChatServer, type ChatServerOptions } from "../../lib/server/server.ts";
import type { ServerAttachment, Session } from "../../lib/server/session.ts";
import type { LineClient } from "./line-client.ts";
import { Waiters } from "./waiters.ts";

export async function startInProcess(t: { teardown(fn: () => unknown): void }, options: Partial<ChatServerOptions> = {}) {
  const backend = new NodeBackend();
  const reactor = new Reactor<ServerAttachment>(backend);
  const listener = await backend.listen({ host: "127.0.0.1", port: 0 });
  const logged: string[] = [];
  const server = new ChatServer(reactor, listener, { log: (line) => logged.push(line), ...options });
  const ticks = new Waiters();
  const dispatch = server.dispatch.bind(server);
  server.dispatch = (ready) => {
    dispatch(ready);
    ticks.wake();
  };
  const running = server.run();
  t.teardown(async () => {
    server.shutdown(0);
    await running;
    reactor.close();
  });
  /** The server's session for a client of this process. */
  const sessionOf = (client: LineClient): Session | undefined => server.sessions().find((s) => s.conn.remote.port === client.port);
  return { server, reactor, port: listener.address.port, ticks, logged, sessionOf };
}
