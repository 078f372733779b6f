/**
 * The process's standard input as a readable handle. Both runtimes offer
 * `process.stdin` as a stream, so both backends share this.
 */
import type { InputStream } from "../reactor/backend.ts";
import { StreamHandle } from "./handles.ts";

/** `process.stdin` as a level-triggered readable handle. */
export class StdinHandle extends StreamHandle implements InputStream {
  readonly kind = "stream" as const;
  private started = false;

  constructor(private readonly input: NodeJS.ReadStream = process.stdin) {
    super();
    this.paused = true; // not reading until someone registers interest
  }

  protected pauseReading(): void {
    this.input.pause();
  }

  protected resumeReading(): void {
    // Attach lazily: reading stdin keeps the process alive, and a program
    // that never registers stdin must be able to exit.
    if (!this.started) {
      this.started = true;
      this.input.on("data", (chunk: Buffer) => this.onData(chunk));
      this.input.on("end", () => this.onEnd());
      this.input.on("error", (err: Error) => this.onError(err));
    }
    this.input.resume();
  }

  close(): void {
    this.gone = true;
    this.input.pause();
    this.input.removeAllListeners("data");
  }
}
