/**
 * The tap side of a conformance run in a Bun child (run.ts): each line it
 * printed becomes a tap assertion, each case a subtest, skipped with the
 * harness's reason where run.ts skipped it, failed where it did not finish.
 */
import type { Test } from "tap";
import type { Line } from "./run.ts";
import { cases } from "./suite.ts";

/** What runBun gives back. */
interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The lines a run printed, as `Line`s (anything else it printed is left out). */
function linesOf(run: ChildRun): Line[] {
  return run.stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Line);
}

/** One subtest per case of the suite for `harness`, from what `run` printed about it. */
export function reportCases(t: Test, run: ChildRun, harness: string): void {
  const lines = linesOf(run);
  for (const c of cases) {
    const mine = lines.filter((l) => l.backend === harness && l.name === c.name);
    const skipped = mine.find((l) => l.type === "skip");
    t.test(c.name, skipped ? { skip: skipped.reason } : {}, async (t) => {
      for (const l of mine) {
        if (l.type === "check") t.ok(l.ok, l.message, l.ok ? {} : { found: l.actual, wanted: l.expected });
      }
      const end = mine.find((l) => l.type === "end");
      if (!end) t.fail("the case finished", { stderr: run.stderr.slice(-2000), exit: run.code ?? run.signal });
      else if (end.error) t.fail("the case ran to its end", { error: end.error });
    });
  }
}
