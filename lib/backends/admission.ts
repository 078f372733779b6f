/**
 * What both backends' listeners do with a socket they have just accepted,
 * before the reactor sees it: count it against the descriptor budget, and
 * give a TLS client a bounded time to finish its handshake.
 */
import type { ListenOptions } from "../reactor/backend.ts";
import { DescriptorBudget } from "../reactor/descriptors.ts";

/** A TLS client that has not finished its handshake by then is dropped. */
export const HANDSHAKE_TIMEOUT_MS = 10_000;

/**
 * The handshake timeout while pending handshakes hold more than half the
 * descriptor budget: most of them are a flood that will never finish, and
 * a real client's handshake takes milliseconds.
 */
export const HANDSHAKE_TIMEOUT_UNDER_PRESSURE_MS = 2_000;

/** The budget a listener counts against: the one it was given, or one without a limit. */
export function budgetFor(options: ListenOptions): DescriptorBudget {
  return options.descriptors ?? new DescriptorBudget(Infinity);
}

/** How long a TLS client accepted now may take to finish its handshake. */
export function handshakeTimeoutMs(budget: DescriptorBudget): number {
  return budget.underPressure ? HANDSHAKE_TIMEOUT_UNDER_PRESSURE_MS : HANDSHAKE_TIMEOUT_MS;
}

/** Whatever holds a TLS socket's handshake timeout while its handshake is pending. */
export interface HandshakeDeadline {
  handshakeTimer: ReturnType<typeof setTimeout> | null;
}

/**
 * The handshake is over (completed, failed, or the socket closed first):
 * its timeout must not fire on a socket that has moved on. Idempotent, as
 * a socket may get here both from its handshake and from its close.
 */
export function clearHandshakeTimer(holder: HandshakeDeadline): void {
  if (holder.handshakeTimer) clearTimeout(holder.handshakeTimer);
  holder.handshakeTimer = null;
}
