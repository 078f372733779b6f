/**
 * What both programs do before their real work: parse flags, answer
 * `--help` and `--version`, and turn a usage error into one line on stderr,
 * as common Unix tools do: `server: unknown flag --nope (see --help)`.
 */
import { type Flags, type FlagSpecs, formatHelp, parseFlags, UsageError } from "./flags.ts";
import { versionLine } from "./version.ts";

/** A program's name (the prefix of its error lines), usage line, summary and flags. */
export interface ProgramSpec<S extends FlagSpecs> {
  name: string;
  usage: string;
  summary: string;
  flags: S;
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

/**
 * The parsed flags, or null once `--help` or `--version` has been answered
 * (the program then simply returns). A bad flag, or an argument that no
 * flag takes, exits 2 with one line (`usageLine`).
 */
export function parseProgramFlags<S extends FlagSpecs & { help: unknown; version: unknown }>(
  spec: ProgramSpec<S>,
  argv: readonly string[] = process.argv.slice(2),
): Flags<S> | null {
  let opts: Flags<S>;
  try {
    opts = parseFlags(argv, spec.flags);
  } catch (err) {
    if (err instanceof UsageError) fail(spec.name, usageLine(err.message), 2);
    throw err;
  }
  if (opts._.length > 0) fail(spec.name, usageLine(`unexpected argument "${opts._[0]}"`), 2);
  if (opts.help) {
    process.stdout.write(formatHelp(spec.usage, spec.summary, spec.flags));
    return null;
  }
  if (opts.version) {
    process.stdout.write(versionLine(spec.name) + "\n");
    return null;
  }
  return opts;
}
