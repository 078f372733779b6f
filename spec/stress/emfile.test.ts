// Running out of file descriptors. Bun's listener spins on accept() EMFILE
// (oven-sh/bun#32705), so the server lowers --max-clients to fit its
// open-file limit and refuses the rest before the limit is reached.
import * as net from "node:net";
import t from "tap";
import { startServer } from "../support/bun.ts";
import { LineClient } from "../support/line-client.ts";
import { openFds } from "../support/proc.ts";

const OPEN_FILES = 64;

for (const backend of ["bun", "node"]) {
  t.test(`${backend} backend under ulimit -n ${OPEN_FILES}: refuses past the limit, never runs out`, async (t) => {
    const server = await startServer(["--backend", backend], { openFiles: OPEN_FILES });
    t.teardown(() => server.stop());
    const lowered = /--max-clients lowered from 10000 to (\d+)/.exec(server.errors());
    t.ok(lowered, "says it lowered --max-clients", { stderr: server.errors() });
    const max = Number(lowered?.[1]);
    t.ok(max > 0 && max < OPEN_FILES, `max clients ${max}`);

    // Twice as many connections as descriptors, all at once.
    const sockets: net.Socket[] = [];
    const texts: string[] = [];
    await Promise.all(
      Array.from({ length: OPEN_FILES * 2 }, (_, i) => {
        texts[i] = "";
        return new Promise<void>((resolve) => {
          const s = net.connect({ host: "127.0.0.1", port: server.port });
          s.on("data", (d) => (texts[i] += d));
          s.on("error", () => {});
          s.on("close", () => resolve());
          s.on("data", () => {
            // A member's first line is a connected notice or nothing at all;
            // a refused one hears only that the server is full.
            if (texts[i]!.includes("Server is full")) s.end();
          });
          sockets.push(s);
          // Members never close on their own: count them once the refusals are in.
          setImmediate(() => resolve());
        });
      }),
    );
    const full = () => texts.filter((x) => x.includes(`Server is full (${max} clients)`)).length;
    const deadline = Date.now() + 15_000;
    while (full() < OPEN_FILES * 2 - max && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    t.equal(full(), OPEN_FILES * 2 - max, `${OPEN_FILES * 2 - max} connections were told the server is full`);
    t.ok(openFds(server.child.pid!) < OPEN_FILES, "the server stayed under its descriptor limit");
    for (const s of sockets) s.destroy();
    // Let the server see them go before a new client tries (or it is still full).
    const offline = () => server.output().split("is offline").length - 1;
    while (offline() < max && Date.now() < deadline + 15_000) await new Promise((r) => setTimeout(r, 20));
    t.equal(offline(), max, "every member was seen leaving");

    // Once they are gone, the server still chats.
    const a = await LineClient.connect(server.port);
    await server.waitFor(`Client ${a.addr} connected`);
    const b = await LineClient.connect(server.port);
    await a.waitFor(`Client ${b.addr} connected`);
    b.send("still accepting\n");
    await a.waitFor(`${b.from} still accepting\n`);
  });
}
