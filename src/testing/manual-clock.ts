/**
 * A wall clock that only moves when told to: pass `clock.now` as the store's `clock` option and
 * TTLs expire exactly when a test (or a seeded simulation) says, replayably, on any machine.
 *
 * ```ts
 * const clock = new ManualClock(Date.UTC(2030, 0, 1));
 * const store = await DurableKVStore.open(dir, { clock: clock.now });
 * await store.put('session', 'x', { ttlMs: 1000 });
 * clock.advance(1000); // 'session' is gone for every read
 * ```
 *
 * It may be stepped backwards (`advance` with a negative step, or `set`), as a system clock can be
 * by NTP or a restored VM: the store keeps its own high-water mark over what `now` returns.
 */
export class ManualClock {
  #ms: number;

  /** `startMs`: the epoch ms `now` returns until the clock is moved. */
  constructor(startMs: number) {
    this.#ms = checkedMs(startMs);
  }

  /** The current epoch ms. Bound: pass it as it is (`{ clock: clock.now }`). */
  readonly now = (): number => this.#ms;

  /** Moves the clock by `stepMs` (negative: backwards); returns the new time. */
  advance(stepMs: number): number {
    if (!Number.isSafeInteger(stepMs)) throw new RangeError(`ManualClock step must be a safe integer of ms, got ${stepMs}`);
    this.#ms = checkedMs(this.#ms + stepMs);
    return this.#ms;
  }

  /** Sets the clock to `ms`, forwards or backwards. */
  set(ms: number): void {
    this.#ms = checkedMs(ms);
  }
}

function checkedMs(ms: number): number {
  if (!Number.isSafeInteger(ms) || ms <= 0) throw new RangeError(`ManualClock time must be a positive safe integer of epoch ms, got ${ms}`);
  return ms;
}
