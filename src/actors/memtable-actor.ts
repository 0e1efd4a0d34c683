import { takeUntil } from 'rxjs';
import type { Bus, CommittedRun } from '../messages/index.js';
import type { Memtable } from '../memtable/memtable.js';
import { assert, invariantBroken } from '../errors.js';
import type { StoredEntry } from '../types.js';

/** The entry an expire op leaves: the key's value with a new version and expiry (it was resolved against an existing key). */
function withExpiry(memtable: Memtable, key: string, version: number, expiresAt: number): StoredEntry {
  const before = memtable.get(key);
  if (before === undefined) invariantBroken(`expire of "${key}", which the memtable does not hold`);
  return { value: before.value, version, expiresAt };
}

/**
 * Applies committed WAL records to the memtable, in seq order, and answers snapshot barriers.
 *
 * It only ever sees records the WAL actor has made durable (per the sync policy), so a read can
 * never observe a write that a crash could take back. Reads do not come here: the store reads the
 * `Memtable` directly and synchronously.
 */
export class MemtableActor {
  readonly #memtable: Memtable;
  readonly #nowMs: () => number;
  #lastAppliedSeq: number;

  /** `nowMs`: the store's clock, only to count how many keys a range delete found live. */
  constructor(bus: Bus, memtable: Memtable, lastAppliedSeq: number, nowMs: () => number) {
    this.#memtable = memtable;
    this.#nowMs = nowMs;
    this.#lastAppliedSeq = lastAppliedSeq;
    bus
      .on('wal.committed')
      .pipe(takeUntil(bus.stop$))
      .subscribe(({ run }) => {
        this.#apply(run);
        bus.publish({ type: 'memtable.applied', run });
      });
    bus
      .on('wal.rotated')
      .pipe(takeUntil(bus.stop$))
      .subscribe(({ requestId, seq, freezeMemtable }) => {
        if (!freezeMemtable) return;
        assert(seq === this.#lastAppliedSeq, `barrier at ${seq} but applied up to ${this.#lastAppliedSeq}`);
        bus.publish({ type: 'memtable.frozen', requestId, seq, view: this.#memtable.freeze(seq) });
      });
    bus
      .on('memtable.thaw')
      .pipe(takeUntil(bus.stop$))
      .subscribe(() => void this.#memtable.thaw());
  }

  #apply({ firstSeq, requests }: CommittedRun): void {
    assert(firstSeq === this.#lastAppliedSeq + 1, `applying seq ${firstSeq} after ${this.#lastAppliedSeq}`);
    const memtable = this.#memtable;
    for (let at = 0; at < requests.length; at++) {
      const request = requests[at];
      const version = firstSeq + at;
      const ops = request.ops;
      for (let index = 0; index < ops.length; index++) {
        const op = ops[index];
        if (op.type === 'put') memtable.set(op.key, { value: op.value, version, expiresAt: op.expiresAt });
        else if (op.type === 'delete') memtable.delete(op.key);
        else if (op.type === 'expire') memtable.set(op.key, withExpiry(memtable, op.key, version, op.expiresAt));
        else request.deleted = memtable.deleteRange(op.range, this.#nowMs());
      }
    }
    this.#lastAppliedSeq = firstSeq + requests.length - 1;
  }
}
