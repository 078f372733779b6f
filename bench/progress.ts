// One live status line on stderr: redrawn in place on a TTY, printed at most
// every 2 s otherwise so logs stay readable.

export class Progress {
  private text = "";
  private last = 0;
  private readonly tty = Boolean(process.stderr.isTTY);

  set(text: string): void {
    this.text = text;
    const now = performance.now();
    if (now - this.last < (this.tty ? 200 : 2000)) return;
    this.last = now;
    if (this.tty) process.stderr.write(`\r\x1b[K${text.slice(0, (process.stderr.columns ?? 120) - 1)}`);
    else process.stderr.write(`${text}\n`);
  }

  /** Always show this one (phase boundaries). */
  say(text: string): void {
    this.last = 0;
    this.set(text);
  }

  done(): void {
    if (this.tty && this.text) process.stderr.write("\r\x1b[K");
    this.text = "";
  }
}
