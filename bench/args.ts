// Command-line parsing for `npm run bench`, through lib/cli/flags.ts. Errors are
// typed (UsageError) so main.ts can print one line (see --help) and exit 2
// instead of a stack trace. The wording is the bench's own: each value is
// read by a `parse` function here.

import { parseFlags, UnknownFlagError, UsageError } from "../lib/cli/flags.ts";
import { formatHelp } from "../lib/cli/help.ts";
import { type NpmTookFlags, npmTookFlags } from "../lib/cli/program.ts";
import { parseHostPort as parseAddress } from "../lib/reactor/address.ts";
import { parseWsUrl } from "./ws.ts";

export const SCENARIOS = [
  "connect",
  "fanout",
  "latency",
  "stepup",
  "memory",
  "cluster",
  "burst",
  "trickle",
  "rooms",
  "rooms-idle",
] as const;
export type ScenarioName = (typeof SCENARIOS)[number];
export const DEFAULT_SCENARIOS: ScenarioName[] = ["connect", "fanout", "latency", "stepup", "memory"];

export type Backend = "bun" | "node";

/** The rooms scenarios' layout without --rooms, --members and --senders: R rooms of M members, S of them sending. */
const ROOM_DEFAULTS = { rooms: { rooms: 100, members: 10, senders: 1 }, "rooms-idle": { rooms: 1000, members: 1, senders: 0 } } as const;

/** The rooms a rooms scenario makes and the members of each (--rooms, --members, --senders per room, or its defaults). */
export function roomsLayout(
  opts: { rooms?: number; members?: number; senders?: number },
  scenario: "rooms" | "rooms-idle",
): { rooms: number; members: number; senders: number } {
  const defaults = ROOM_DEFAULTS[scenario];
  const rooms = opts.rooms ?? defaults.rooms;
  const members = opts.members ?? defaults.members;
  const senders = scenario === "rooms" ? Math.min(opts.senders ?? defaults.senders, members) : 0;
  return { rooms, members, senders };
}

export interface Options {
  scenarios: ScenarioName[];
  /** undefined: scenario default */
  clients?: number;
  senders?: number;
  window: number;
  rate?: number;
  size: number;
  /** --size was given (burst's own default is 2048) */
  sizeGiven?: boolean;
  /** seconds of measurement per scenario (or per stepup step) */
  duration?: number;
  target?: string;
  backend: Backend;
  noCoalesce: boolean;
  /** more flags for our server (--server-args) */
  serverArgs: string[];
  maxClients: number;
  /** --c-relay: the C reference relay's source (default: ../shared/peers/c_relay.c beside the checkout) */
  cRelay?: string;
  /** --c-rooms: the C reference with rooms (default: ../shared/peers/c_rooms.c beside the checkout) */
  cRooms?: string;
  /** rooms scenarios: how many rooms (undefined: scenario default) */
  rooms?: number;
  /** rooms scenarios: members per room (undefined: scenario default) */
  members?: number;
  json: boolean;
  /** every column in the table (default: what fits 100 columns) */
  wide: boolean;
  svg: string;
  compare?: string[];
  help: boolean;
}

/** A whole number >= `min`. */
const integer =
  (min: number) =>
  (value: string | undefined, flag: string): number => {
    if (value === undefined) throw new UsageError(`${flag} needs a value`);
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < min) throw new UsageError(`${flag} must be an integer >= ${min}, got '${value}'`);
    return parsed;
  };

/** A finite number >= `min`. */
const number =
  (min: number) =>
  (value: string | undefined, flag: string): number => {
    if (value === undefined) throw new UsageError(`${flag} needs a value`);
    const parsed = Number(value);
    if (!Number.isFinite(parsed) || parsed < min) throw new UsageError(`${flag} must be a number >= ${min}, got '${value}'`);
    return parsed;
  };

/**
 * Flags our server needs to hold the rooms the run's rooms scenarios make
 * (its --max-rooms is 1000, the default room included, and --max-clients
 * 10000), before --server-args, which may say otherwise.
 */
export function roomFlags(opts: { scenarios?: readonly ScenarioName[]; rooms?: number; members?: number; senders?: number }): string[] {
  let rooms = 0;
  let clients = 0;
  for (const scenario of opts.scenarios ?? []) {
    if (scenario !== "rooms" && scenario !== "rooms-idle") continue;
    const layout = roomsLayout(opts, scenario);
    // the default room, and a probe's own room (rooms-idle)
    rooms = Math.max(rooms, layout.rooms + 2);
    // rooms-idle's probe
    clients = Math.max(clients, layout.rooms * layout.members + 1);
  }
  const flags: string[] = [];
  if (rooms > 1000) flags.push("--max-rooms", String(rooms));
  if (clients > 10_000) flags.push("--max-clients", String(clients));
  return flags;
}

/** Any non-empty text; `what` names it in the error. */
const text =
  (what: string) =>
  (value: string | undefined, flag: string): string => {
    if (!value) throw new UsageError(`${flag} needs ${what}`);
    return value;
  };

/** A comma-separated list, blanks dropped; each item must pass `check`. */
const list =
  (what: string, check: (item: string) => void) =>
  (value: string | undefined, flag: string): string[] => {
    const items = text(what)(value, flag)
      .split(",")
      .map((item) => item.trim())
      .filter(Boolean);
    for (const item of items) check(item);
    return items;
  };

export function parseHostPort(flag: string, value: string): { host: string; port: number } {
  const address = parseAddress(value);
  if (!address || address.port < 1) throw new UsageError(`${flag} expects HOST:PORT, got '${value}'`);
  return address;
}

/** The targets the harness starts itself; anything else is HOST:PORT or ws://HOST:PORT/PATH. */
export const TARGET_NAMES = ["ours-bun", "ours-node", "ours-nocoalesce", "ours-ws", "c", "c-rooms", "redis", "bun-publish"];

/** A target name, HOST:PORT or ws://HOST:PORT/PATH (checked), as given. */
function targetSpec(flag: string, value: string): string {
  if (TARGET_NAMES.includes(value)) return value;
  if (value.startsWith("ws://")) {
    if (!parseWsUrl(value)) throw new UsageError(`${flag} expects ws://HOST:PORT/PATH, got '${value}'`);
    return value;
  }
  const address = parseAddress(value);
  if (!address || address.port < 1)
    throw new UsageError(`${flag} expects HOST:PORT, ws://HOST:PORT/PATH or one of ${TARGET_NAMES.join(", ")}; got '${value}'`);
  return value;
}

/** The bench's flags, in the order --help lists them. */
const FLAGS = {
  scenario: {
    type: "string",
    value: "a,b",
    help: `scenarios: ${SCENARIOS.join(", ")} (default: ${DEFAULT_SCENARIOS.join(",")})`,
    parse: (value: string | undefined, flag: string) =>
      list("a value", (name) => {
        if (!(SCENARIOS as readonly string[]).includes(name)) throw new UsageError(`unknown scenario '${name}'`);
      })(value, flag) as ScenarioName[],
  },
  clients: {
    type: "number",
    value: "N",
    help: "connected clients (default 1000, trickle 2000; in stepup, the first step)",
    parse: integer(2),
  },
  senders: {
    type: "number",
    value: "N",
    help: "broadcasting clients (fanout 20, latency 10, stepup 5, cluster 10; rooms: per room, 1)",
    parse: integer(1),
  },
  window: { type: "number", value: "N", help: "closed-loop messages in flight per sender (default 16)", parse: integer(1) },
  rate: {
    type: "number",
    value: "N",
    help: "open-loop msg/s per sender (latency 100, stepup 20, cluster 100; trickle: bytes/s per client, 20)",
    parse: number(0.1),
  },
  size: {
    type: "number",
    value: "N",
    help: "message line size in bytes incl. newline (default 64, burst 2048, min 40)",
    parse: integer(40),
  },
  duration: {
    type: "number",
    value: "S",
    help: "measuring seconds per scenario / stepup step (default 5 / 3; trickle 20)",
    parse: number(0.1),
  },
  target: {
    type: "string",
    value: "T",
    help: "what to measure (default: our server): a name as for --compare, HOST:PORT of a chat server that is already running, or ws://HOST:PORT/PATH of a WebSocket one (JSON events)",
    parse: (value: string | undefined, flag: string) => targetSpec(flag, text("a target")(value, flag)),
  },
  backend: {
    type: "string",
    value: "bun|node",
    help: "backend for our server (default bun)",
    parse: (value: string | undefined, flag: string): Backend => {
      if (value !== "bun" && value !== "node") throw new UsageError(`${flag} must be bun or node, got '${value ?? ""}'`);
      return value;
    },
  },
  "no-coalesce": { type: "boolean", help: "start our server with --no-coalesce" },
  "server-args": { type: "string", value: "FLAGS", help: "more flags for our server, e.g. '--intake-bytes 262144'" },
  "max-clients": { type: "number", value: "N", help: "stepup/memory ceiling (default 9000)", parse: integer(2) },
  rooms: { type: "number", value: "R", help: "rooms and rooms-idle: how many rooms (rooms 100, rooms-idle 1000)", parse: integer(1) },
  members: {
    type: "number",
    value: "M",
    help: "rooms: members per room (10, at least 2); rooms-idle: idle members per room (1), against one room of R x M",
    parse: integer(1),
  },
  compare: {
    type: "string",
    value: "t1,t2,...",
    help: `run against several targets side by side: ${TARGET_NAMES.join(", ")}, HOST:PORT or ws://HOST:PORT/PATH`,
    parse: list("a list of targets", (target) => targetSpec("--compare", target)),
  },
  "c-relay": {
    type: "string",
    value: "FILE",
    help: "source of the C reference relay (target c) (default ../shared/peers/c_relay.c beside the checkout)",
    parse: text("a file name"),
  },
  "c-rooms": {
    type: "string",
    value: "FILE",
    help: "source of the C reference with rooms (target c-rooms) (default ../shared/peers/c_rooms.c beside the checkout)",
    parse: text("a file name"),
  },
  json: { type: "boolean", help: "print one JSON object per scenario instead of a table" },
  wide: { type: "boolean", help: "every column in the table (default: what fits 100 columns)" },
  svg: { type: "string", value: "FILE", help: "chart output (default bench/out/chart.svg)", parse: text("a file name") },
  help: { type: "boolean", short: "h", help: "this text" },
} as const;

/** What runs the bench, as the usage line and a hint after a usage error name it. */
export const NPM_COMMAND = "npm run bench";

const SUMMARY =
  "Starts a chat server (ours unless --target or --compare says otherwise), drives it with many clients from this process, " +
  "and prints a table per run and an SVG chart.";

/** The end of --help: where the columns are explained. */
const MORE =
  "Also run as npx bun bench/main.ts [flags]. What each scenario does, what the table's columns mean, " +
  "and the figures measured so far: docs/performance.md.";

/** `--help`, wrapped to `columns` (default: the terminal's, else 80). */
export function usage(columns?: number): string {
  return formatHelp(`${NPM_COMMAND} -- [flags]`, SUMMARY, FLAGS, {
    more: MORE,
    ...(columns === undefined ? {} : { columns }),
  });
}

/** npm took some of the bench's flags for its own (`npm run bench --clients 50`): which, and what to type instead. */
export function npmTook(argv: readonly string[], env: Readonly<Record<string, string | undefined>> = process.env): NpmTookFlags | null {
  return npmTookFlags(FLAGS, argv, env, NPM_COMMAND);
}

/** The flags as lib/cli parses them, in the bench's wording: no arguments besides flags. */
function parseBenchFlags(argv: string[]) {
  try {
    const flags = parseFlags(argv, FLAGS);
    if (flags._.length) throw new UsageError(`unknown option '${flags._[0]}'`);
    return flags;
  } catch (err) {
    if (err instanceof UnknownFlagError) throw new UsageError(`unknown option '${err.arg}'`);
    throw err;
  }
}

export function parseArgs(argv: string[]): Options {
  const flags = parseBenchFlags(argv);
  const options: Options = {
    scenarios: flags.scenario ?? [...DEFAULT_SCENARIOS],
    clients: flags.clients,
    senders: flags.senders,
    window: flags.window ?? 16,
    rate: flags.rate,
    size: flags.size ?? 64,
    sizeGiven: flags.size !== undefined,
    duration: flags.duration,
    target: flags.target,
    backend: flags.backend ?? "bun",
    noCoalesce: flags["no-coalesce"] ?? false,
    serverArgs: (flags["server-args"] ?? "").split(/\s+/).filter(Boolean),
    maxClients: flags["max-clients"] ?? 9000,
    cRelay: flags["c-relay"],
    cRooms: flags["c-rooms"],
    rooms: flags.rooms,
    members: flags.members,
    json: flags.json ?? false,
    wide: flags.wide ?? false,
    svg: flags.svg ?? "bench/out/chart.svg",
    compare: flags.compare,
    help: flags.help ?? false,
  };
  if (options.target && options.compare) throw new UsageError("use either --target or --compare, not both");
  if (options.senders !== undefined && options.clients !== undefined && options.senders >= options.clients)
    throw new UsageError("--senders must be smaller than --clients (one client observes)");
  if (options.scenarios.includes("rooms") && options.members !== undefined && options.members < 2)
    throw new UsageError("--members must be at least 2 in the rooms scenario (a line goes to the others in its room)");
  if (
    options.members !== undefined &&
    options.senders !== undefined &&
    options.scenarios.includes("rooms") &&
    options.senders > options.members
  )
    throw new UsageError("--senders (per room, in the rooms scenario) must be at most --members");
  return options;
}
