/**
 * One budget of file descriptors for every socket a process accepts.
 *
 * A process that reaches its open-file limit cannot accept, and Bun's
 * accept loop then spins: the pending connection stays in the kernel's
 * backlog and the level-triggered poll reports it again at once. So every
 * accepted socket (TLS handshakes in progress, metrics requests, clients,
 * connections still flushing their last output) holds a lease from one
 * budget set below that limit, and a socket that gets none is closed at
 * once instead of being kept.
 *
 * A lease taken with a give-up function is provisional (a TLS handshake in
 * progress): when the budget is exhausted, the oldest provisional lease is
 * given up for the newcomer. A half-open handshake costs an attacker
 * nothing, so it is the cheapest thing to drop; giving up the oldest lets
 * a real client through a flood of them at once instead of after their
 * timeouts.
 */

/** One descriptor held from a `DescriptorBudget`. */
export class DescriptorLease {
  private held = true;
  /** Set while the lease is provisional: how its holder gives it up. */
  giveUp: (() => void) | null;

  /** @internal made by `DescriptorBudget.acquire` */
  constructor(
    private readonly budget: DescriptorBudget,
    giveUp: (() => void) | null,
  ) {
    this.giveUp = giveUp;
  }

  /** Whether the descriptor still counts against the budget. */
  get isHeld(): boolean {
    return this.held;
  }

  /** The holder keeps it (its handshake finished): it is no longer given up for a newcomer. */
  confirm(): void {
    if (this.giveUp === null) return;
    this.giveUp = null;
    this.budget.forgetProvisional(this);
  }

  /** The socket is closed: its descriptor is free. Idempotent, so every path that closes may call it. */
  release(): void {
    if (!this.held) return;
    this.held = false;
    if (this.giveUp !== null) {
      this.giveUp = null;
      this.budget.forgetProvisional(this);
    }
    this.budget.returned();
  }
}

/** Descriptors for sockets, shared by a process's listeners. */
export class DescriptorBudget {
  private inUse = 0;
  /** Provisional leases, oldest first (a Set keeps insertion order). */
  private readonly provisional = new Set<DescriptorLease>();
  /** Most descriptors held at once. */
  peak = 0;
  /** Provisional leases given up to make room for a newcomer. */
  sheds = 0;
  /** Sockets closed at once because no descriptor was left (nor any to give up). */
  refusals = 0;

  /** @param limit sockets that may be open at once (Infinity: no limit). */
  constructor(readonly limit: number) {}

  /** Descriptors held now. */
  get used(): number {
    return this.inUse;
  }

  /** Provisional leases held now (TLS handshakes in progress). */
  get pending(): number {
    return this.provisional.size;
  }

  /**
   * Provisional leases hold more than half the budget: handshakes should
   * be given less time, since most of them will never finish.
   */
  get underPressure(): boolean {
    return this.provisional.size * 2 > this.limit;
  }

  /**
   * One descriptor for a socket just accepted. When none is left, the
   * oldest provisional lease is given up (its `giveUp` closes its socket)
   * and its descriptor goes to this one. Null: none left and none to give
   * up; the caller closes the socket at once (counted as a refusal).
   *
   * @param giveUp makes the lease provisional until `confirm()`: how to
   *   close this socket should a newcomer need its descriptor.
   */
  acquire(giveUp?: () => void): DescriptorLease | null {
    if (this.inUse >= this.limit && !this.shedOldest()) {
      this.refusals++;
      return null;
    }
    this.inUse++;
    if (this.inUse > this.peak) this.peak = this.inUse;
    const lease = new DescriptorLease(this, giveUp ?? null);
    if (giveUp) this.provisional.add(lease);
    return lease;
  }

  /** Give up the oldest provisional lease; false when there is none. */
  private shedOldest(): boolean {
    const oldest = this.provisional.values().next();
    if (oldest.done) return false;
    const lease = oldest.value;
    const giveUp = lease.giveUp!;
    lease.release();
    this.sheds++;
    giveUp();
    return true;
  }

  /** @internal a lease stopped being provisional */
  forgetProvisional(lease: DescriptorLease): void {
    this.provisional.delete(lease);
  }

  /** @internal a lease was released */
  returned(): void {
    this.inUse--;
  }
}
