// Rooms. `rooms`: R rooms of M members (client i is in room i % R, as the
// (i / R)-th member), S senders in every room in closed loop, each line
// due to the M - 1 others of its room only. Measures deliveries per second
// and the server's CPU per delivery, and checks that nothing crosses rooms:
// every message carries its sender's room (bench/message.ts), and one read
// by a client of another room is counted (LoadGen.crossRoom), not delivered.
// `rooms-idle`: the server's VmRSS with R rooms of M idle members against
// one room of all R x M, each on a fresh server process.
//
// Both need only what every line server with rooms does: a client sends
// `/join #NAME` right after connecting, and every other line it sends goes
// to the others in its room. Ours answers the join and tells the room;
// c_rooms.c says nothing. So a client is known to be in its room when a
// line said there reaches it: each room's first member (whose own join,
// sent before on the same connection, the server handled first) says a
// marker line, again with a backoff while some member has not had the
// room's latest one (its join was not handled yet when the marker came).
// A room is in once every other member has its latest marker, and then no
// marker is still on its way to anyone. A room of one member cannot hear
// itself: a probe client joins each such room in turn and says the marker
// there, then leaves for a room of its own and hangs up.

import { Accounting, type Totals } from "../accounting.ts";
import { roomsLayout } from "../args.ts";
import { serverRssKb } from "../cpu.ts";
import { LoadGen } from "../loadgen.ts";
import { formatMessage } from "../message.ts";
import { emptyTotals, notRun, type ScenarioResult } from "../result.ts";
import type { Target } from "../targets.ts";
import { fmt, phaseReport, runPhase, waitFor, type Ctx } from "./common.ts";

/** R rooms of M members, S of whom send: client i is in room i % R, the (i / R)-th there; the senders are clients 0 .. S x R - 1. */
export class RoomLayout {
  constructor(
    readonly rooms: number,
    readonly members: number,
    /** senders per room */
    readonly senders = 0,
  ) {}

  get clients(): number {
    return this.rooms * this.members;
  }

  roomOf(client: number): number {
    return client % this.rooms;
  }

  /** Which member of its room a client is (0: the first). */
  slotOf(client: number): number {
    return Math.floor(client / this.rooms);
  }

  /** The next member of the client's room (after the last: the first): a sender's closed-loop observer. */
  next(client: number): number {
    const after = client + this.rooms;
    return after < this.clients ? after : client % this.rooms;
  }

  /** Every client's room, for LoadGen.roomOf. */
  table(): Int32Array {
    const rooms = new Int32Array(this.clients);
    for (let i = 0; i < rooms.length; i++) rooms[i] = this.roomOf(i);
    return rooms;
  }
}

/**
 * Deliveries within rooms: a sender's line is due to the other members of
 * its room only. Kept per receiver and per sender of its own room (not per
 * pair of all clients: 10,000 clients would take 10^8 slots).
 */
export class RoomsAccounting extends Accounting {
  private readonly top: Int32Array;
  private readonly missing = new Map<number, Set<number>>();

  constructor(readonly layout: RoomLayout) {
    super(1, layout.senders * layout.rooms);
    this.top = new Int32Array(layout.clients * layout.senders).fill(-1);
  }

  private slot(receiver: number, sender: number): number {
    return receiver * this.layout.senders + this.layout.slotOf(sender);
  }

  override highestSeen(receiver: number, sender: number): number {
    return this.top[this.slot(receiver, sender)]!;
  }

  override deliver(receiver: number, sender: number, seq: number, latencyUs: number): void {
    const { layout } = this;
    if (
      sender >= this.senders ||
      receiver >= layout.clients ||
      layout.roomOf(sender) !== layout.roomOf(receiver) ||
      seq >= this.sentCount(sender)
    ) {
      this.foreign++;
      return;
    }
    const at = this.slot(receiver, sender);
    const top = this.top[at]!;
    if (seq === top + 1) this.top[at] = seq;
    else if (seq > top) {
      let gaps = this.missing.get(at);
      if (!gaps) this.missing.set(at, (gaps = new Set()));
      for (let gap = top + 1; gap < seq; gap++) gaps.add(gap);
      this.top[at] = seq;
    } else if (this.missing.get(at)?.delete(seq)) this.orderViolations++;
    else {
      this.duplicates++;
      return;
    }
    this.delivered++;
    this.latency.record(latencyUs);
  }

  override totals(): Totals {
    let sent = 0;
    for (let sender = 0; sender < this.senders; sender++) sent += this.sentCount(sender);
    const expected = sent * (this.layout.members - 1);
    return {
      sent,
      expected,
      delivered: this.delivered,
      lost: expected - this.delivered,
      duplicates: this.duplicates,
      orderViolations: this.orderViolations,
      foreign: this.foreign,
    };
  }
}

/** Why a rooms scenario cannot run against this target, or null when it can. */
function cannotRun(target: Target): string | null {
  if (target.wire.name !== "line") return "rooms are /join lines over TCP: needs a line server (ours-bun, ours-node, c-rooms, HOST:PORT)";
  if (target.label === "c") return "c_relay has no rooms (it relays /join as a line to everyone): compare with c-rooms";
  return null;
}

/** The bytes of a marker line: sizes like the messages, so the scan's guesses hold. */
const MARKER_SIZE = 64;
/** A room's marker is said again after this long without every member having it, doubling each time up to `RESEND_MAX_MS`. */
const RESEND_MS = 200;
const RESEND_MAX_MS = 3200;
/** Connections opened at once while the clients go into their rooms. */
const CONNECTS_AT_ONCE = 100;
/** Give up once no room got in for this long. */
const SETUP_IDLE_MS = 20_000;
/** After the rooms are in, the server is left alone this long before its memory is read (its replies and notices have gone). */
const IDLE_SETTLE_MS = 1000;

/** How the clients got into their rooms. */
interface Setup {
  /** rooms not known to be in when the harness gave up */
  missing: number;
  /** a line that shows the server refused something (`Error: ...`, `Server is full`), or null */
  refused: string | null;
  /** marker lines said in all */
  markers: number;
  /** from the first connect to the last room in */
  ms: number;
}

const REFUSALS = ["Error: ", "Server is full"];

/**
 * Connect `layout.clients` clients, each sending `/join` to its room
 * (named `#PREFIX<room>`) first, and wait until every room is known to be
 * in (see the top of this file).
 */
async function enterRooms(gen: LoadGen, layout: RoomLayout, prefix: string, ctx: Ctx): Promise<Setup> {
  const name = (room: number): string => `#${prefix}${room}`;
  const { rooms, members } = layout;
  const N = layout.clients;
  const t0 = performance.now();
  let refused: string | null = null;
  gen.onLines = (_client, buf, end) => {
    if (refused !== null) return;
    for (const word of REFUSALS)
      for (let at = buf.indexOf(word); at >= 0 && at < end; at = buf.indexOf(word, at + 1)) {
        if (at > 0 && buf[at - 1] !== 0x0a) continue; // only at the start of a line
        const stop = buf.indexOf(0x0a, at);
        refused = buf.toString("utf8", at, stop < 0 ? end : stop).trim();
        return;
      }
  };
  gen.roomOf = layout.table();
  gen.crossRoom = 0;
  gen.greet = (client) => (client < N ? `/join ${name(layout.roomOf(client))}\n` : "");
  ctx.progress.say(`rooms: connecting ${fmt(N)} clients into ${fmt(rooms)} rooms of ${members}`);
  // Few at once: until its /join is read a client is in the room everyone starts in, and hears every
  // connect there (1000 at once made millions of notices at 10,000 clients).
  await gen.connect(N, CONNECTS_AT_ONCE);
  // A room of one is told its marker by a probe, the client after the others.
  const probe = members === 1 ? N : -1;
  if (probe >= 0) await gen.connect(1);
  gen.greet = null;

  // The markers are a phase of their own: room r's first member (client r)
  // is their sender, whoever says them.
  const acc = new RoomsAccounting(new RoomLayout(rooms, members, 1));
  const phase = ++gen.phase;
  gen.acc = acc;
  gen.countJoins = false;
  gen.msgSize = MARKER_SIZE;
  const hearers = members === 1 ? [0] : Array.from({ length: members - 1 }, (_, slot) => slot + 1);
  const pending = new Set<number>(Array.from({ length: rooms }, (_, room) => room));
  const saidAt = new Float64Array(rooms);
  const rounds = new Int32Array(rooms);
  const isIn = (room: number): boolean => {
    const latest = acc.sentCount(room) - 1;
    return latest >= 0 && hearers.every((slot) => acc.highestSeen(room + slot * rooms, room) === latest);
  };
  const say = (): void => {
    const now = performance.now();
    let walk = "";
    for (const room of pending) {
      if (rounds[room]! > 0 && now - saidAt[room]! < Math.min(RESEND_MS * 2 ** (rounds[room]! - 1), RESEND_MAX_MS)) continue;
      const line = formatMessage(phase, room, acc.sentCount(room), now * 1000, MARKER_SIZE, room);
      acc.recordSent(room, now * 1000);
      saidAt[room] = now;
      rounds[room]!++;
      if (probe >= 0) walk += `/join ${name(room)}\n${line}`;
      else gen.send(room, line);
    }
    if (walk) gen.send(probe, walk);
  };
  const done = (): boolean => {
    for (const room of pending) if (isIn(room)) pending.delete(room);
    return pending.size === 0 || refused !== null;
  };
  say();
  const resend = setInterval(() => {
    if (!done()) say();
  }, RESEND_MS / 4);
  const ticker = setInterval(() => ctx.progress.set(`rooms: ${fmt(rooms - pending.size)}/${fmt(rooms)} rooms in`), 250);
  await waitFor(gen, done, () => rooms - pending.size, SETUP_IDLE_MS);
  clearInterval(resend);
  clearInterval(ticker);
  gen.onLines = null;
  gen.acc = null;
  gen.countJoins = true;
  gen.msgSize = 0;
  let markers = 0;
  for (let room = 0; room < rooms; room++) markers += acc.sentCount(room);
  if (probe >= 0) {
    // the probe leaves the last room it visited for one of its own, which goes when it hangs up
    gen.send(probe, `/join #${prefix}probe\nq\n`);
    gen.clients[probe]!.gone = true; // its hanging up is no client lost
  }
  return { missing: pending.size, refused, markers, ms: performance.now() - t0 };
}

/** Why the rooms are not all in, for a failed result; null when they are. */
function setupProblem(setup: Setup, gen: LoadGen): string | null {
  if (setup.refused !== null) return `the server refused: ${setup.refused}`;
  if (setup.missing > 0)
    return `${setup.missing} rooms never had every member hear their marker within ${SETUP_IDLE_MS / 1000} s${gen.lost ? ` (${gen.lost} clients disconnected by server)` : ""}`;
  return null;
}

/** What crossed rooms, for a note: how many, and the first. */
function crossNote(gen: LoadGen): string | null {
  const first = gen.firstCrossRoom;
  if (!gen.crossRoom || !first) return null;
  return `${gen.crossRoom} lines crossed rooms (the first: client ${first.receiver}, in room ${gen.roomOf?.[first.receiver]}, got room ${first.room}'s line of client ${first.sender})`;
}

export async function roomsScenario(ctx: Ctx): Promise<ScenarioResult> {
  const { label } = ctx.target;
  const why = cannotRun(ctx.target);
  if (why) return notRun("rooms", label, "skipped", why);
  const o = ctx.opts;
  const { rooms, members, senders } = roomsLayout(o, "rooms");
  if (members < 2) return notRun("rooms", label, "failed", "--members must be at least 2: a line goes to the others in its room");
  const layout = new RoomLayout(rooms, members, senders);
  const durationS = o.duration ?? 5;
  const gen = new LoadGen(ctx.target.host, ctx.target.port, [], ctx.target.wire);
  try {
    const setup = await enterRooms(gen, layout, "r", ctx);
    const problem = setupProblem(setup, gen);
    if (problem) return notRun("rooms", label, "failed", problem);
    const crossAtSetup = gen.crossRoom;
    const phase = await runPhase(
      gen,
      {
        label: `rooms ${rooms}x${members}`,
        senders: senders * rooms,
        mode: "closed",
        window: o.window,
        rate: 0,
        size: o.size,
        durationS,
        observer: (sender) => layout.next(sender),
        room: (sender) => layout.roomOf(sender),
      },
      ctx,
      new RoomsAccounting(layout),
    );
    const report = phaseReport(phase, gen, 0);
    const cross = crossNote(gen);
    const perK =
      phase.serverCpu === null || !phase.deliveriesPerSec ? null : +((phase.serverCpu / phase.deliveriesPerSec) * 1e9).toFixed(1);
    return {
      scenario: "rooms",
      target: label,
      status: "ok",
      clients: layout.clients,
      senders: senders * rooms,
      durationS,
      ...report,
      note: [cross, report.note].filter(Boolean).join("; ") || undefined,
      metrics: {
        rooms,
        members,
        sendersPerRoom: senders,
        window: o.window,
        size: o.size,
        crossRoom: gen.crossRoom,
        crossRoomAtSetup: crossAtSetup,
        setupMs: Math.round(setup.ms),
        markers: setup.markers,
        srvUsPer1kDeliv: perK,
      },
    };
  } finally {
    gen.close();
  }
}

/** One layout of idle rooms on `target`: the server's VmRSS before and once every room is in. */
async function idleRooms(ctx: Ctx, target: Target, layout: RoomLayout, prefix: string) {
  const gen = new LoadGen(target.host, target.port, [], target.wire);
  try {
    const baseKb = serverRssKb(target.pid);
    const setup = await enterRooms(gen, layout, prefix, ctx);
    await new Promise((resolve) => setTimeout(resolve, IDLE_SETTLE_MS));
    const rssKb = serverRssKb(target.pid);
    return { baseKb, rssKb, setup, problem: setupProblem(setup, gen), cross: crossNote(gen), crossRoom: gen.crossRoom, lost: gen.lost };
  } finally {
    gen.close();
  }
}

const mb = (kb: number): number => +(kb / 1024).toFixed(1);

export async function roomsIdleScenario(ctx: Ctx): Promise<ScenarioResult> {
  const { label, pid } = ctx.target;
  const why = cannotRun(ctx.target);
  if (why) return notRun("rooms-idle", label, "skipped", why);
  if (pid === null || !ctx.fresh)
    return notRun("rooms-idle", label, "skipped", "needs the server process: not possible with --target (harness does not own the server)");
  const { rooms, members } = roomsLayout(ctx.opts, "rooms-idle");
  const N = rooms * members;
  const spread = await idleRooms(ctx, ctx.target, new RoomLayout(rooms, members), "i");
  // the same clients in one room, on a server of their own: memory a process gave back is not always returned to the system
  const other = await ctx.fresh();
  let one: Awaited<ReturnType<typeof idleRooms>>;
  try {
    one = await idleRooms(ctx, other, new RoomLayout(1, N), "all");
  } finally {
    await other.stop();
  }
  const problem = spread.problem ?? one.problem;
  if (problem) return notRun("rooms-idle", label, "failed", problem);
  if (spread.baseKb === null || spread.rssKb === null || one.baseKb === null || one.rssKb === null)
    return notRun("rooms-idle", label, "failed", `could not read the server's /proc/PID/status`);
  const spreadKb = spread.rssKb - spread.baseKb;
  const oneKb = one.rssKb - one.baseKb;
  const notes = [spread.cross, one.cross, spread.lost + one.lost ? `${spread.lost + one.lost} clients disconnected by server` : null];
  return {
    scenario: "rooms-idle",
    target: label,
    status: "ok",
    note: notes.filter(Boolean).join("; ") || undefined,
    clients: N,
    senders: 0,
    durationS: 0,
    accounting: emptyTotals(),
    deliveriesPerSec: null,
    latencyUs: null,
    genCpu: null,
    serverCpu: null,
    metrics: {
      rooms,
      members,
      roomsRssMb: mb(spread.rssKb),
      roomsBaseRssMb: mb(spread.baseKb),
      oneRoomRssMb: mb(one.rssKb),
      oneRoomBaseRssMb: mb(one.baseKb),
      kbPerClientRooms: +(spreadKb / N).toFixed(2),
      kbPerClientOneRoom: +(oneKb / N).toFixed(2),
      kbPerRoom: rooms > 1 ? +((spreadKb - oneKb) / (rooms - 1)).toFixed(2) : null,
      crossRoom: spread.crossRoom + one.crossRoom,
      setupMsRooms: Math.round(spread.setup.ms),
      setupMsOneRoom: Math.round(one.setup.ms),
    },
  };
}
