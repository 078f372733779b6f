/**
 * What the programs do before their real work: parse flags, answer
 * `--help` and `--version`, and turn a usage error into one line on stderr,
 * as common Unix tools do: `server: unknown flag --nope (see --help)`.
 */
import { type Flags, type FlagSpecs, parseFlags, UsageError } from "./flags.ts";
import { formatHelp } from "./help.ts";
import { versionLine } from "./version.ts";

/** A program's name (the prefix of its error lines), usage line, summary and flags. */
export interface ProgramSpec<S extends FlagSpecs> {
  name: string;
  usage: string;
  summary: string;
  flags: S;
  /**
   * The npm command that runs the program (`npm start`, `npm run client`):
   * what a usage error suggests when npm took the program's flags for its
   * own (see `npmTookFlags`). Without it, the npm script being run
   * (`npm_lifecycle_event`) is named.
   */
  npm?: string;
  /** A paragraph at the end of --help: where the whole story is. */
  more?: string;
}

/** Print `name: message` on stderr and exit with `code` (2: usage, 1: the rest). */
export function fail(name: string, message: string, code: number): never {
  process.stderr.write(`${name}: ${message}\n`);
  process.exit(code);
}

/** What follows a usage error's message: where the whole usage is. */
export const SEE_HELP = "(see --help)";

/** The one line a usage error prints (after `NAME: `): what was wrong, and where to read more. */
export const usageLine = (message: string): string => `${message} ${SEE_HELP}`;

/** Environment variables, as `process.env` holds them. */
type Env = Readonly<Record<string, string | undefined>>;

/** Flags npm took for itself, and the command line that was meant. */
export interface NpmTookFlags {
  /** The flags npm kept, as typed (`--port`). */
  flags: string[];
  /** Whether one of them was a flag that takes a value, given none (npm said `true`): it cannot have been meant for npm. */
  valueless: boolean;
  /** The command to type instead, e.g. `npm start -- --port 20003`. */
  instead: string;
}

/** The variables npm may have set for a flag it took for itself: it lower-cases the name, and turns `-` into `_`. */
const npmVariables = (name: string): string[] => {
  const lower = name.toLowerCase();
  return [...new Set([`npm_config_${lower.replaceAll("-", "_")}`, `npm_config_${lower}`])];
};

/** `npm start`, `npm test` and a few more are commands of their own; any other script is `npm run NAME`. */
const NPM_COMMANDS = new Set(["start", "stop", "restart", "test"]);

/** How npm ran this program, as the user would type it, or null when it is not known. */
function npmCommand(npm: string | undefined, env: Env): string | null {
  if (npm) return npm;
  const script = env.npm_lifecycle_event;
  if (!script) return null;
  return NPM_COMMANDS.has(script) ? `npm ${script}` : `npm run ${script}`;
}

/** Shell quoting for a suggested command: plain words as they are, anything else in single quotes. */
const shellWord = (word: string): string => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`);

/**
 * npm reads the flags written before `--` as its own, even ones it does not
 * know: `npm start --port 20003` runs the program with the argument
 * `20003` alone, and tells it `npm_config_port=true`. Returns which of the
 * program's flags npm took this way (a flag given on the command line as
 * well is not counted) and the command meant, or null if none was.
 */
export function npmTookFlags(specs: FlagSpecs, argv: readonly string[], env: Env = process.env, npm?: string): NpmTookFlags | null {
  const shorts = new Map(Object.entries(specs).flatMap(([name, spec]) => (spec.short ? [[`-${spec.short}`, name]] : [])));
  const given = new Set<string>();
  /** Indexes of the arguments that are no flag nor a flag's value: what npm left of the flags it took. */
  const loose: number[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      for (let j = i + 1; j < argv.length; j++) loose.push(j);
      break;
    }
    const name = shorts.get(arg) ?? (arg.startsWith("--") ? arg.slice(2).split("=")[0]! : null);
    if (name === null) {
      loose.push(i);
      continue;
    }
    const spec = specs[name] ?? (name.startsWith("no-") ? specs[name.slice(3)] : undefined);
    given.add(specs[name] ? name : name.slice(3));
    if (spec && spec.type !== "boolean" && !arg.includes("=")) i++;
  }
  const taken: Array<{ name: string; value: string }> = [];
  for (const [name, spec] of Object.entries(specs)) {
    if (name === "help" || name === "version" || given.has(name)) continue;
    const value = npmVariables(name)
      .map((variable) => env[variable])
      .find((v) => v !== undefined);
    if (value === undefined) continue;
    // A boolean flag npm took is "true" or "false"; anything else came from npm's own configuration.
    if (spec.type === "boolean" && value !== "true" && value !== "false") continue;
    taken.push({ name, value });
  }
  if (taken.length === 0) return null;
  const valueFlags = taken.filter(({ name, value }) => specs[name]!.type !== "boolean" && value === "true");
  // With one such flag, the first loose argument is its value. With several, the first loose
  // arguments are theirs, but which is whose is not known (npm sorts what it took): placeholders then.
  const used = new Set(loose.slice(0, valueFlags.length));
  const words = taken.flatMap(({ name, value }) => {
    const spec = specs[name]!;
    if (spec.type === "boolean") return [value === "true" ? `--${name}` : `--no-${name}`];
    if (value !== "true") return [`--${name}=${value}`];
    const own = valueFlags.length === 1 && loose.length > 0 ? argv[loose[0]!]! : null;
    return [`--${name}`, own ?? spec.value ?? spec.type.toUpperCase()];
  });
  const rest = argv.filter((arg, i) => !used.has(i) && arg !== "--");
  const command = npmCommand(npm, env) ?? "npm run SCRIPT";
  return {
    flags: taken.map(({ name, value }) => (specs[name]!.type === "boolean" && value === "false" ? `--no-${name}` : `--${name}`)),
    valueless: valueFlags.length > 0,
    instead: [command, "--", ...[...words, ...rest].map(shellWord)].join(" "),
  };
}

/** `npm took --port for itself: did you mean \`npm start -- --port 20003\`?` */
export function npmHint(took: NpmTookFlags): string {
  const flags = took.flags.length === 1 ? took.flags[0] : `${took.flags.slice(0, -1).join(", ")} and ${took.flags.at(-1)}`;
  return `npm took ${flags} for itself (a program's flags go after \`--\`): did you mean \`${took.instead}\`?`;
}

/**
 * The parsed flags, or null once `--help` or `--version` has been answered
 * (the program then simply returns). A bad flag, or an argument that no
 * flag takes, exits 2 with one line (`usageLine`); when npm took some of
 * the program's flags for its own, the line says what to type instead.
 */
export function parseProgramFlags<S extends FlagSpecs & { help: unknown; version: unknown }>(
  spec: ProgramSpec<S>,
  argv: readonly string[] = process.argv.slice(2),
  env: Env = process.env,
): Flags<S> | null {
  const took = npmTookFlags(spec.flags, argv, env, spec.npm);
  const usageError = (message: string): never => fail(spec.name, took ? `${message}: ${npmHint(took)}` : usageLine(message), 2);
  let opts: Flags<S>;
  try {
    opts = parseFlags(argv, spec.flags);
  } catch (err) {
    if (err instanceof UsageError) usageError(err.message);
    throw err;
  }
  if (opts._.length > 0) usageError(`unexpected argument "${opts._[0]}"`);
  if (opts.help) {
    process.stdout.write(formatHelp(spec.usage, spec.summary, spec.flags, spec.more ? { more: spec.more } : {}));
    return null;
  }
  if (opts.version) {
    process.stdout.write(versionLine(spec.name) + "\n");
    return null;
  }
  // `npm run client --port 6000` parses (6000 is taken for HOST), but is not what was meant.
  if (took?.valueless) fail(spec.name, npmHint(took), 2);
  return opts;
}
