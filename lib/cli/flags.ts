/**
 * Command-line flags for the programs: `--name value`, `--name=value`,
 * and `--flag` / `--no-flag` for booleans; a flag may also be given as a
 * positional argument (`bun bin/client.ts HOST PORT`). A bad flag is a
 * `UsageError` with a one-line message; programs print it as one line
 * (lib/cli/program.ts), never a stack. The --help text is lib/cli/help.ts.
 */

export type FlagType = "string" | "number" | "boolean";

/** One flag: its type, help text, default and optional check. */
export interface FlagSpec {
  readonly type: FlagType;
  readonly help: string;
  readonly default?: string | number | boolean;
  /** Placeholder for the value in --help (e.g. HOST). */
  readonly value?: string;
  /** Extra check; return an error message to reject the value. */
  readonly check?: (value: string | number) => string | null;
  /**
   * For a flag that takes a value: turns the value (undefined: none was
   * given) into what the program uses, instead of `type`'s conversion and
   * `check`; throws `UsageError`, with the whole message, to reject it.
   * For a program with its own wording.
   */
  readonly parse?: (value: string | undefined, flag: string, previous?: unknown) => unknown;
  /** A one-letter alias given with one dash, e.g. `h` for `-h`. */
  readonly short?: string;
  /**
   * Also given as an argument that is not a flag: the first such argument
   * is the first flag with `positional` (in the order the specs list them),
   * the second the second, and so on; converted and checked as the flag's
   * value, and named by `value` in errors. When a program has positional
   * flags, an argument more, or a flag given both ways, is a `UsageError`.
   * For string and number flags.
   */
  readonly positional?: boolean;
}

/** A program's flags by name (without the leading `--`). */
export type FlagSpecs = Record<string, FlagSpec>;

type ValueOf<S extends FlagSpec> = S extends { parse: (...args: never[]) => infer T }
  ? T
  : S["type"] extends "number"
    ? number
    : S["type"] extends "boolean"
      ? boolean
      : string;

/** What `parseFlags` returns: each flag's value (or its default), plus the other arguments. */
export type Flags<S extends FlagSpecs> = { -readonly [K in keyof S]: ValueOf<S[K]> | undefined } & {
  /** Arguments that are not flags (nor taken by a `positional` flag). */
  _: string[];
};

/** A bad command line; the message is one line for the user. */
export class UsageError extends Error {
  override readonly name: string = "UsageError";
}

/** A `--name` no flag is called; `arg` is the argument as given (with any `=value`). */
export class UnknownFlagError extends UsageError {
  override readonly name = "UnknownFlagError";
  constructor(
    readonly flag: string,
    readonly arg: string,
  ) {
    super(`unknown flag --${flag}`);
  }
}

/** Parse `argv` against `specs`; throws `UsageError` for unknown flags and bad values. */
export function parseFlags<S extends FlagSpecs>(argv: readonly string[], specs: S): Flags<S> {
  const out: Record<string, unknown> = { _: [] };
  /** Flags given as flags, to refuse the same one as an argument too. */
  const given = new Set<string>();
  for (const [name, spec] of Object.entries(specs)) out[name] = spec.default;
  const shortNames = new Map(Object.entries(specs).flatMap(([name, spec]) => (spec.short ? [[`-${spec.short}`, name]] : [])));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const short = shortNames.get(arg);
    if (short === undefined && (!arg.startsWith("--") || arg === "--")) {
      if (arg === "--") (out._ as string[]).push(...argv.slice(i + 1));
      else (out._ as string[]).push(arg);
      if (arg === "--") break;
      continue;
    }
    let name = short ?? arg.slice(2);
    let value: string | undefined;
    const eq = short === undefined ? name.indexOf("=") : -1;
    if (eq >= 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    const spec = specs[name];
    if (!spec && name.startsWith("no-") && specs[name.slice(3)]?.type === "boolean" && value === undefined) {
      out[name.slice(3)] = false;
      given.add(name.slice(3));
      continue;
    }
    if (!spec) throw new UnknownFlagError(name, arg);
    given.add(name);
    if (spec.parse) {
      // A repeatable flag's parser gets what the flag gave before (`--web-origin` adds to it).
      out[name] = spec.parse(value ?? argv[++i], `--${name}`, out[name]);
      continue;
    }
    if (spec.type === "boolean") {
      if (value === undefined) out[name] = true;
      else if (value === "true" || value === "false") out[name] = value === "true";
      else throw new UsageError(`--${name} takes no value (or true/false), got "${value}"`);
      continue;
    }
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) throw new UsageError(`--${name} needs a value`);
    }
    out[name] = convert(spec, value, `--${name}`);
  }
  takePositionals(specs, out, given);
  return out as Flags<S>;
}

/** A string or number flag's value as the program gets it; `label` names it in errors (`--port`, `PORT`). */
function convert(spec: FlagSpec, value: string, label: string): unknown {
  if (spec.parse) return spec.parse(value, label);
  let parsed: string | number = value;
  if (spec.type === "number") {
    parsed = Number(value);
    if (value.trim() === "" || !Number.isFinite(parsed)) throw new UsageError(`${label} needs a number, got "${value}"`);
  }
  const problem = spec.check?.(parsed);
  if (problem) throw new UsageError(`${label}: ${problem}`);
  return parsed;
}

/** Give the arguments that are not flags to the `positional` flags, in order (see `FlagSpec.positional`). */
function takePositionals(specs: FlagSpecs, out: Record<string, unknown>, given: ReadonlySet<string>): void {
  const positional = Object.entries(specs).filter(([, spec]) => spec.positional);
  if (!positional.length) return;
  const args = out._ as string[];
  if (args.length > positional.length) throw new UsageError(`unexpected argument "${args[positional.length]}"`);
  for (const [i, arg] of args.entries()) {
    const [name, spec] = positional[i]!;
    const label = positionalLabel(name, spec);
    if (given.has(name)) throw new UsageError(`${label} is given twice: as an argument and as --${name}`);
    out[name] = convert(spec, arg, label);
  }
  out._ = [];
}

/** Checks shared by the programs. */
export const checks = {
  port: (value: string | number) =>
    Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 65535 ? null : "must be a whole number from 0 to 65535",
  positive: (value: string | number) => ((value as number) > 0 ? null : "must be greater than 0"),
  nonNegative: (value: string | number) => ((value as number) >= 0 ? null : "must be 0 or more"),
  wholeNonNegative: (value: string | number) =>
    Number.isInteger(value) && (value as number) >= 0 ? null : "must be a whole number, 0 or more",
  wholePositive: (value: string | number) =>
    Number.isInteger(value) && (value as number) > 0 ? null : "must be a whole number greater than 0",
  backend: (value: string | number) => (value === "bun" || value === "node" ? null : 'must be "bun" or "node"'),
};

/** How a positional flag is named in errors and help: its `value` placeholder, else its name in capitals. */
export const positionalLabel = (name: string, spec: FlagSpec): string => spec.value ?? name.toUpperCase();
