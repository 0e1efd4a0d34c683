import { assert } from '../errors.js';
import type { EncodableOp, StoredEntry } from '../types.js';

const deleted = Symbol('deleted');

/**
 * The state as of the last write sequenced: the memtable, plus the effects of records written (or
 * about to be) but not yet applied, which under `sync: 'always'` wait for their fdatasync. A
 * conditional write is resolved against this, so it sees every write sequenced before it.
 *
 * Built only for a group that holds such a write, from the few groups not yet committed: the
 * write path of a store that never uses a condition does not pay for it.
 */
export class SequencedView {
  readonly #applied: (key: string) => StoredEntry | undefined;
  /** Entries written after the memtable's; `deleted` for a delete (one lookup answers both questions). */
  readonly #pending = new Map<string, StoredEntry | typeof deleted>();

  constructor(applied: (key: string) => StoredEntry | undefined) {
    this.#applied = applied;
  }

  readonly get = (key: string): StoredEntry | undefined => {
    const pending = this.#pending.get(key);
    if (pending === undefined) return this.#applied(key);
    return pending === deleted ? undefined : pending;
  };

  /** Adds the effects of the record with `seq`. A range delete cannot be followed here: the caller waits for it to apply. */
  add(ops: readonly EncodableOp[], seq: number): void {
    for (const op of ops) {
      switch (op.type) {
        case 'put':
          this.#pending.set(op.key, { value: op.value, version: seq, expiresAt: op.expiresAt });
          break;
        case 'delete':
          this.#pending.set(op.key, deleted);
          break;
        case 'expire': {
          const before = this.get(op.key);
          assert(before !== undefined, 'an expire is resolved only for a key that exists');
          this.#pending.set(op.key, { value: before.value, version: seq, expiresAt: op.expiresAt });
          break;
        }
        case 'deleteRange':
          assert(false, 'a range delete is applied before a conditional write is resolved after it');
      }
    }
  }
}

/** Whether any of these ops is a range delete (its keys are known only when it is applied). */
export function hasDeleteRange(ops: readonly EncodableOp[]): boolean {
  for (const op of ops) if (op.type === 'deleteRange') return true;
  return false;
}
