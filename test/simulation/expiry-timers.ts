/**
 * Active expiry, fired when the simulation says rather than when a real timer does.
 *
 * The store's expiry actor sweeps on a `setTimeout(expiryIntervalMs)`: real time, which would make
 * a run's history depend on how fast the machine is. While a simulation runs, timers with the
 * simulation's interval (a delay nothing else uses) are held here instead of being armed, and
 * `fire()` runs them at a point the op list chose: the sweep then happens at the same place on
 * every replay. Every other timer goes to the real `setTimeout` untouched.
 *
 * (A store option that takes a scheduler would make this interposition unnecessary.)
 */

/** The `expiryIntervalMs` the simulation opens stores with: about eleven days, never reached for real. */
export const simulatedExpiryIntervalMs = 987_654_321;

interface HeldTimer {
  callback: (...args: unknown[]) => void;
  args: unknown[];
}

export class ExpiryTimers {
  readonly #held = new Map<object, HeldTimer>();
  #uninstall: (() => void) | undefined;

  /** Timers held now: the open store's next sweep (and any a store that lost power armed since). */
  get held(): number {
    return this.#held.size;
  }

  /** Replaces the global setTimeout / clearTimeout until `uninstall`. One installation at a time. */
  install(): void {
    if (this.#uninstall !== undefined) return;
    const realSetTimeout = globalThis.setTimeout;
    const realClearTimeout = globalThis.clearTimeout;
    const held = this.#held;
    const setTimeoutHeld = (callback: (...args: unknown[]) => void, delay?: number, ...args: unknown[]): unknown => {
      if (delay !== simulatedExpiryIntervalMs) return realSetTimeout(callback, delay, ...args);
      const handle = {
        unref: () => handle,
        ref: () => handle,
        hasRef: () => false,
        refresh: () => handle,
      };
      held.set(handle, { callback, args });
      return handle;
    };
    const clearTimeoutHeld = (handle: unknown): void => {
      if (typeof handle === 'object' && handle !== null && held.delete(handle)) return;
      realClearTimeout(handle as Parameters<typeof clearTimeout>[0]);
    };
    globalThis.setTimeout = setTimeoutHeld as unknown as typeof setTimeout;
    globalThis.clearTimeout = clearTimeoutHeld as typeof clearTimeout;
    this.#uninstall = () => {
      globalThis.setTimeout = realSetTimeout;
      globalThis.clearTimeout = realClearTimeout;
      held.clear();
    };
  }

  uninstall(): void {
    this.#uninstall?.();
    this.#uninstall = undefined;
  }

  /** Runs every held timer now (each runs once, as a timer would); returns how many ran. */
  fire(): number {
    const due = [...this.#held];
    this.#held.clear();
    for (const [, { callback, args }] of due) callback(...args);
    return due.length;
  }

  /** Forgets the held timers: they belong to a store whose process lost power (or that is gone). */
  dropAll(): void {
    this.#held.clear();
  }
}
