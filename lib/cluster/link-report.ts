/**
 * The cluster's link as one thing, for the log: up when the writer is up
 * and the reader in step, down otherwise. An outage is said at once with
 * why, then again at 1 s, 2 s, 4 s ... of it, then once a minute: a
 * mistyped URL is not a server silently alone, nor a log full of retries.
 * When the link comes back it says how long it was away and what was
 * queued or not relayed meanwhile.
 */

/** The first "still down" line comes this far into an outage, then at twice that... up to a minute. */
const FIRST_REPORT_MS = 1000;
const MINUTE_MS = 60_000;

export class LinkReport {
  /** Whether the link counts as up (what `changed` was last told). */
  up = false;
  private everUp = false;
  private downSince: number;
  /** The outage's first failure was logged. */
  private reportedOutage = false;
  /** How long into the outage the next "still down" line is due (ms). */
  private nextReportMs = FIRST_REPORT_MS;
  /** Local entries queued, and entries not relayed, since the link last came up. */
  queuedWhileDown = 0;
  notRelayed = 0;

  constructor(
    /** Where the link goes, as the log names it. */
    private readonly target: string,
    private readonly now: () => number,
    private readonly log: (line: string) => void,
    /** What the first "up" line adds (where the rooms' logs are). */
    private readonly firstUp: () => string,
  ) {
    this.downSince = now();
  }

  /** The relay starts: an outage, if any, is counted from now. */
  started(): void {
    this.downSince = this.now();
  }

  /** One of the connections changed (`which`: append or read; `reason` when it failed); `up`: the link as a whole. */
  changed(up: boolean, which: string, reason?: string, retryMs?: number): void {
    const now = this.now();
    if (up === this.up) {
      if (up || reason === undefined) return;
      if (!this.reportedOutage) {
        // The first failure of an outage says why at once.
        this.reportedOutage = true;
        this.log(`Cluster link to ${this.target} not up (${which}: ${reason}); local chat goes on, retrying with backoff`);
        return;
      }
      if (now - this.downSince < this.nextReportMs) return;
      const secs = ((now - this.downSince) / 1000).toFixed(1);
      this.log(
        `Cluster link to ${this.target} still down after ${secs} s (${which}: ${reason}); ` +
          `chat is local until it is up; retrying${retryMs !== undefined ? ` in ${retryMs} ms` : ""}`,
      );
      this.nextReportMs = this.nextReportMs < MINUTE_MS ? Math.min(2 * this.nextReportMs, MINUTE_MS) : this.nextReportMs + MINUTE_MS;
      return;
    }
    this.up = up;
    if (up) return this.cameUp(now);
    this.downSince = now;
    this.nextReportMs = FIRST_REPORT_MS;
    this.reportedOutage = true;
    this.log(`Cluster link down (${which}: ${reason ?? "closed"}); local chat goes on, reconnecting in ${retryMs ?? 0} ms`);
  }

  private cameUp(now: number): void {
    if (!this.everUp) {
      this.log(`Cluster link up: ${this.target}${this.firstUp()}`);
    } else {
      const secs = ((now - this.downSince) / 1000).toFixed(1);
      const what =
        this.queuedWhileDown || this.notRelayed
          ? ` (entries queued meanwhile: ${this.queuedWhileDown}, not relayed: ${this.notRelayed})`
          : "";
      this.log(`Cluster link back after ${secs} s${what}`);
    }
    this.everUp = true;
    this.reportedOutage = false;
    this.nextReportMs = FIRST_REPORT_MS;
    this.queuedWhileDown = 0;
    this.notRelayed = 0;
  }
}
