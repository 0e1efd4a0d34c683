/**
 * The wall clock that TTLs are measured against. Expiry times are absolute epoch ms (stored in the
 * WAL and snapshots), so a restart never extends a key's life; what `now` returns decides when a
 * key is gone.
 *
 * It never goes backwards inside one process: a high-water mark per clock source (Date.now, or
 * the function a store was given), shared by every store of the process, so a key seen expired
 * stays expired even if the system clock is stepped back (NTP, a VM restored) and the store is
 * closed and opened again. A clock stepped forward expires keys early, and there is no undoing
 * that: their deletes are logged. A new process starts its mark from the system clock.
 */
const highWaterMarks = new WeakMap<() => number, number>();

export class WallClock {
  readonly #source: () => number;
  /** This clock's mark: it starts from the process's mark for the source and moves it on. */
  #highMs: number;

  /** `source` defaults to Date.now; tests and the simulation inject their own. */
  constructor(source: () => number = Date.now) {
    this.#source = source;
    this.#highMs = highWaterMarks.get(source) ?? 0;
  }

  /** Epoch ms (whole), never less than any value this source returned before in this process. */
  now(): number {
    const ms = Math.floor(this.#source());
    // A source that returns nonsense (NaN, Infinity) does not move the clock.
    if (ms > this.#highMs && Number.isSafeInteger(ms)) {
      this.#highMs = ms;
      if (ms > (highWaterMarks.get(this.#source) ?? 0)) highWaterMarks.set(this.#source, ms);
    }
    return this.#highMs;
  }
}
