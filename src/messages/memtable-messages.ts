import type { CommittedRecord } from './wal-messages.js';
import type { FrozenView } from '../actors/memtable.js';

/** Messages the memtable actor publishes, and the one it takes besides `wal.committed`/`wal.rotated`. */
export type MemtableMessage =
  /** The records are applied: reads see them. Callers' promises resolve on this. */
  | { type: 'memtable.applied'; records: CommittedRecord[] }
  /** The map as of `seq`, frozen for a snapshot; writes go to an overlay until `memtable.thaw`. */
  | { type: 'memtable.frozen'; requestId: number; seq: number; view: FrozenView }
  | { type: 'memtable.thaw' };
