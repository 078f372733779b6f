// The rooms scenarios for real, through the harness (a Bun child): a small
// run against our server and, when cc can build it, against c_rooms.c;
// and against a relay that has no rooms, whose lines cross rooms: the
// check that none does is shown to catch it.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import t, { type Test } from "tap";
import type { ScenarioResult } from "../../bench/result.ts";
import { jsonLines, root, runBun } from "../support/bun.ts";

/** The harness looks for it there too (or at --c-rooms). */
const roomsSrc = [path.resolve(root, "../shared/peers/c_rooms.c")].find(existsSync);
const relaySrc = [path.resolve(root, "../shared/peers/c_relay.c")].find(existsSync);
const hasCc = spawnSync("cc", ["--version"]).status === 0;

const svg = () => path.join(mkdtempSync(path.join(tmpdir(), "bench-rooms-")), "chart.svg");
const runBench = (args: string[]) => runBun(["bench/main.ts", ...args, "--json", "--svg", svg()], { timeoutMs: 120_000 });

/** What every small rooms run must show: deliveries, all of them, none across rooms. */
function checkRooms(t: Test, result: ScenarioResult, rooms: number, members: number): void {
  t.equal(result.status, "ok", `rooms ran: ${result.note ?? ""}`);
  t.same([result.metrics.rooms, result.metrics.members, result.clients], [rooms, members, rooms * members]);
  t.ok(result.accounting.delivered > 0, "lines delivered");
  t.equal(result.metrics.crossRoom, 0, "no line reached another room");
  t.equal(result.metrics.crossRoomAtSetup, 0, "not even while the clients went in");
  t.equal(result.accounting.lost, 0, "none lost");
  t.equal(result.accounting.duplicates, 0);
  t.equal(result.accounting.foreign, 0, "nothing of the setup's markers in the measurement");
  t.equal(result.accounting.expected, result.accounting.sent * (members - 1), "each line due to the others in its room only");
  t.type(result.metrics.srvUsPer1kDeliv, "number", "the server's CPU per delivery");
}

/** What every small rooms-idle run must show: both layouts in, memory read. */
function checkIdle(t: Test, result: ScenarioResult, rooms: number, members: number): void {
  t.equal(result.status, "ok", `rooms-idle ran: ${result.note ?? ""}`);
  t.same([result.metrics.rooms, result.metrics.members, result.clients], [rooms, members, rooms * members]);
  for (const key of ["roomsRssMb", "oneRoomRssMb", "roomsBaseRssMb", "oneRoomBaseRssMb"])
    t.ok(Number(result.metrics[key]) > 0, `${key} read`);
  t.equal(result.metrics.crossRoom, 0, "no marker reached another room");
  t.equal(result.note, undefined, "no client lost, nothing to say");
}

t.test("rooms and rooms-idle against our server: 3 rooms of 3, then 5 rooms of one idle member", async (t) => {
  const run = await runBench(["--target", "ours-bun", "--scenario", "rooms", "--rooms", "3", "--members", "3", "--duration", "0.5"]);
  t.equal(run.code, 0, run.stderr);
  const [rooms] = jsonLines(run.stdout);
  checkRooms(t, rooms, 3, 3);
  t.equal(rooms.senders, 3, "one sender in every room");
  const idle = await runBench(["--target", "ours-bun", "--scenario", "rooms-idle", "--rooms", "5"]);
  t.equal(idle.code, 0, idle.stderr);
  checkIdle(t, jsonLines(idle.stdout)[0], 5, 1);
});

t.test(
  "rooms and rooms-idle against c_rooms.c, built by the harness; the C relay has no rooms and is skipped",
  {
    skip: !hasCc ? "no C compiler (cc) to build the reference with rooms" : !roomsSrc ? "c_rooms.c not found in ../shared/peers" : false,
  },
  async (t) => {
    const run = await runBench([
      "--compare",
      "c-rooms,c",
      "--c-rooms",
      roomsSrc as string,
      "--scenario",
      "rooms,rooms-idle",
      "--rooms",
      "3",
      "--members",
      "3",
      "--senders",
      "2",
      "--duration",
      "0.5",
    ]);
    t.equal(run.code, 0, run.stderr);
    const results = jsonLines(run.stdout);
    const find = (scenario: string, target: string) => results.find((r) => r.scenario === scenario && r.target === target);
    checkRooms(t, find("rooms", "c-rooms"), 3, 3);
    t.equal(find("rooms", "c-rooms").senders, 6, "two senders in every room");
    checkIdle(t, find("rooms-idle", "c-rooms"), 3, 3);
    if (relaySrc) {
      t.equal(find("rooms", "c").status, "skipped");
      t.match(find("rooms", "c").note, /c_relay has no rooms/, "says why, and what to compare with");
    }
  },
);

t.test("c-rooms missing: one line saying where the harness looked, and the flag", async (t) => {
  const missing = path.join(mkdtempSync(path.join(tmpdir(), "bench-rooms-")), "c_rooms.c");
  const run = await runBun(["bench/main.ts", "--target", "c-rooms", "--c-rooms", missing, "--scenario", "rooms"]);
  t.equal(run.code, 1);
  t.equal(run.stderr, `bench: c-rooms: no C reference with rooms at ${missing} (given by --c-rooms)\n`);
});

/** A line relay without rooms: every complete line to every other client, `/join` included. */
function roomlessRelay(): Promise<{ port: number; close(): void }> {
  const clients = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    clients.add(socket);
    let rest = "";
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      const text = rest + chunk;
      const end = text.lastIndexOf("\n") + 1;
      rest = text.slice(end);
      if (end === 0) return;
      for (const other of clients) if (other !== socket) other.write(text.slice(0, end), "latin1");
    });
    socket.on("error", () => {});
    socket.on("close", () => clients.delete(socket));
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({
        port: (server.address() as net.AddressInfo).port,
        close: () => {
          for (const socket of clients) socket.destroy();
          server.close();
        },
      }),
    ),
  );
}

t.test("a server without rooms is caught: its lines cross rooms, and the run says so", async (t) => {
  const relay = await roomlessRelay();
  t.teardown(() => relay.close());
  const run = await runBench([
    "--target",
    `127.0.0.1:${relay.port}`,
    "--scenario",
    "rooms",
    "--rooms",
    "2",
    "--members",
    "2",
    "--duration",
    "0.3",
  ]);
  t.equal(run.code, 0, run.stderr);
  const [result] = jsonLines(run.stdout);
  t.equal(result.status, "ok");
  t.ok(result.metrics.crossRoomAtSetup > 0, "the markers of one room reached the other while the clients went in");
  t.ok(result.metrics.crossRoom > result.metrics.crossRoomAtSetup, "and the lines measured too");
  t.match(result.note, /lines crossed rooms \(the first: client \d+, in room \d, got room \d's line of client \d+\)/);
  t.equal(result.accounting.foreign, 0, "a crossing line is counted as such, not as a delivery");
  t.equal(result.accounting.lost, 0, "the lines of a receiver's own room all came");
});
