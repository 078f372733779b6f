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
    const refusals = OPEN_FILES * 2 - max;
    let refused = 0;
    let allRefused!: () => void;
    const refusedAll = new Promise<void>((resolve) => (allRefused = resolve));
    const sockets: net.Socket[] = [];
    await Promise.all(
      Array.from({ length: OPEN_FILES * 2 }, () => {
        let received = "";
        let counted = false;
        return new Promise<void>((resolve) => {
          const socket = net.connect({ host: "127.0.0.1", port: server.port });
          socket.on("error", () => {});
          socket.on("close", () => resolve());
          socket.on("data", (chunk) => {
            received += chunk;
            // A member's first line is a connected notice or nothing at all;
            // a refused one hears only that the server is full.
            if (received.includes("Server is full")) socket.end();
            if (counted || !received.includes(`Server is full (${max} clients)`)) return;
            counted = true;
            if (++refused === refusals) allRefused();
          });
          sockets.push(socket);
          // Members never close on their own: count them once the refusals are in.
          setImmediate(() => resolve());
        });
      }),
    );
    await Promise.race([refusedAll, new Promise((resolve) => setTimeout(resolve, 15_000).unref())]);
    t.equal(refused, refusals, `${refusals} connections were told the server is full`);
    t.ok(openFds(server.child.pid!) < OPEN_FILES, "the server stayed under its descriptor limit");
    for (const socket of sockets) socket.destroy();
    // Let the server see them go before a new client tries (or it is still full).
    const offline = (output: string) => output.split("is offline").length - 1;
    await server.waitUntil((output) => offline(output) >= max, `${max} members leaving`, 15_000).catch(() => {});
    t.equal(offline(server.output()), max, "every member was seen leaving");

    // Once they are gone, the server still chats.
    const [listener, speaker] = await LineClient.connectAll(server.port, 2);
    speaker!.send("still accepting\n");
    await listener!.waitFor(`${speaker!.from} still accepting\n`);
  });
}
