/**
 * Waiting for a condition in a test without sleeping: `until()` checks the
 * condition now and again every time `wake()` is called (a test helper
 * calls it on each event: data arrived, a socket closed), and rejects
 * with a description of what was still missing once `timeoutMs` passes.
 */
export class Waiters {
  private checks: Array<() => void> = [];

  /**
   * Resolves when `test()` holds, rejects when it throws; `missing()` says
   * what was there instead, for the timeout error.
   */
  until(test: () => boolean, what: string, timeoutMs: number, missing: () => string = () => ""): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = () => {
        this.checks.splice(this.checks.indexOf(check), 1);
        clearTimeout(timer);
      };
      const check = () => {
        let ok: boolean;
        try {
          ok = test();
        } catch (err) {
          // A test that throws says the condition can never hold now.
          done();
          return reject(err);
        }
        if (!ok) return;
        done();
        resolve();
      };
      const timer = setTimeout(() => {
        done();
        const detail = missing();
        reject(new Error(`timed out waiting for ${what}${detail ? ` ${detail}` : ""}`));
      }, timeoutMs);
      this.checks.push(check);
      check();
    });
  }

  /** Something happened: look at every waiting condition again. */
  wake(): void {
    for (const check of [...this.checks]) check();
  }
}
