/**
 * Durations on the command line: a whole number and a unit, as `30s`,
 * `15m`, `12h`, `7d`, `2w` (`--history-age`).
 */
import { UsageError } from "./flags.ts";

const UNIT_MS: Record<string, number> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
};

/** Milliseconds in `text` (`7d`, `12h`, `90m`, `30s`, `2w`); throws `UsageError` naming `label` when it is not one. */
export function parseDuration(text: string | undefined, label: string): number {
  if (text === undefined) throw new UsageError(`${label} needs a value`);
  const m = /^(\d{1,9})([smhdw])$/.exec(text.trim());
  if (!m) throw new UsageError(`${label} needs a duration such as 7d, 12h, 30m or 45s, got "${text}"`);
  const ms = Number(m[1]) * UNIT_MS[m[2]!]!;
  if (ms === 0) throw new UsageError(`${label} must be longer than 0, got "${text}"`);
  return ms;
}
