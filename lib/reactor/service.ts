/**
 * A key attachment for a handle that a helper owns and serves itself (the
 * cluster's Redis link, say): the program's dispatcher hands the key's
 * events to it instead of interpreting them. This lets helpers share one
 * reactor with the program without knowing the program's other attachments.
 */
export interface Service {
  readonly kind: "service";
  /** The key is readable. */
  onReadable(): void;
  /** The key is errored (the handle's `error` says why). */
  onErrored(): void;
}
