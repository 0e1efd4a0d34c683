/**
 * The wall clock that TTLs are measured against. Expiry times are absolute epoch ms (stored in the
 * WAL and snapshots), so a restart never extends a key's life; what `now` returns decides when a
 * key is gone.
 *
 * It never goes backwards inside one process: it keeps a high-water mark, so a key seen expired
 * stays expired even if the system clock is stepped back (NTP, a VM restored). A clock stepped
 * forward expires keys early, and there is no undoing that: their deletes are logged. Across a
 * restart the mark starts again from the system clock.
 */
export class WallClock {
  readonly #source: () => number;
  #highMs = 0;

  /** `source` defaults to Date.now; tests and the simulation inject their own. */
  constructor(source: () => number = Date.now) {
    this.#source = source;
  }

  /** Epoch ms, never less than any value returned before. */
  now(): number {
    const ms = this.#source();
    if (ms > this.#highMs) this.#highMs = Math.floor(ms);
    return this.#highMs;
  }
}
