/**
 * The --help text of a program: usage, summary, every flag with its
 * default, wrapped to the terminal's width (80 columns when stdout is not
 * a terminal). Flags stay in a narrow column; a flag too long for it gets
 * a line of its own, its description below, indented like the others.
 */
import { type FlagSpecs, positionalLabel } from "./flags.ts";

/** The width help is wrapped to when stdout is not a terminal. */
export const HELP_WIDTH = 80;
/** Help is never wrapped narrower than this, however narrow the terminal says it is. */
const MIN_WIDTH = 40;
/** The column descriptions start in, at most; a longer flag is on its own line. */
const MAX_FLAG_COLUMN = 28;
/** Where a flag starts. */
const FLAG_INDENT = "  ";

/** How `formatHelp` lays out. */
export interface HelpOptions {
  /** Columns to fit (default: the terminal's, else `HELP_WIDTH`). */
  columns?: number;
  /** A paragraph after the flags: where to read more, say. */
  more?: string;
}

/** The width help fits: the terminal's when stdout is one, else `HELP_WIDTH`. */
export function helpWidth(stdout: { isTTY?: boolean; columns?: number } = process.stdout): number {
  return stdout.isTTY === true && stdout.columns ? stdout.columns : HELP_WIDTH;
}

/**
 * `text` as lines of at most `width` characters; the first starts with
 * `first`, the others with `rest`. Any run of white space, newlines
 * included, is one space. A word longer than a line is not cut (a URL, a
 * flag): it gets a line of its own.
 */
export function wrapText(text: string, width: number, first = "", rest = first): string[] {
  const lines: string[] = [];
  let line = first;
  let empty = true;
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (!empty && line.length + 1 + word.length > width) {
      lines.push(line);
      line = rest;
      empty = true;
    }
    line += (empty ? "" : " ") + word;
    empty = false;
  }
  if (!empty || lines.length === 0) lines.push(line);
  return lines;
}

/** The --help text: usage line, summary, and every flag with its default. */
export function formatHelp(usage: string, summary: string, specs: FlagSpecs, options: HelpOptions = {}): string {
  const width = Math.max(MIN_WIDTH, options.columns ?? helpWidth());
  const rows = Object.entries(specs).map(([name, spec]) => {
    const short = spec.short ? `-${spec.short}, ` : "";
    const flag = `${FLAG_INDENT}${short}--${name}${spec.type === "boolean" ? "" : ` ${spec.value ?? spec.type.toUpperCase()}`}`;
    const fallback = spec.default === undefined ? "" : ` (default: ${spec.default})`;
    const argument = spec.positional ? `; or ${positionalLabel(name, spec)} as an argument` : "";
    return { flag, text: `${spec.help}${argument}${fallback}` };
  });
  const fitting = rows.map(({ flag }) => flag.length + 2).filter((column) => column <= MAX_FLAG_COLUMN);
  const column = Math.max(FLAG_INDENT.length + 4, ...fitting);
  const indent = " ".repeat(column);
  const flagLines = rows.flatMap(({ flag, text }) => {
    if (flag.length + 2 > column) return [flag, ...wrapText(text, width, indent)];
    return wrapText(text, width, flag.padEnd(column), indent);
  });
  const out = [...wrapText(`Usage: ${usage}`, width, "", "       "), "", ...wrapText(summary, width), "", "Flags:", ...flagLines];
  if (options.more) out.push("", ...wrapText(options.more, width));
  return out.join("\n") + "\n";
}
