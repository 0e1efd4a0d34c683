import type { CommittedRun } from './wal-messages.js';
import type { FrozenView } from '../types.js';

/** Messages the memtable actor publishes, and the one it takes besides `wal.committed`/`wal.rotated`. */
export type MemtableMessage =
  /** The run is applied: reads see it. Callers' promises resolve on this (through the WriteSettler). */
  | { type: 'memtable.applied'; run: CommittedRun }
  /** The map as of `seq`, frozen for a snapshot; writes go to an overlay until `memtable.thaw`. */
  | { type: 'memtable.frozen'; requestId: number; seq: number; view: FrozenView }
  | { type: 'memtable.thaw' };
