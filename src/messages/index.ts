import type { WalMessage } from './wal-messages.js';
import type { MemtableMessage } from './memtable-messages.js';
import type { SnapshotMessage } from './snapshot-messages.js';

export type { WalMessage, WalCommand, WalEvent, WriteRequest, CommittedRun, UnwrittenWrite } from './wal-messages.js';
export type { MemtableMessage } from './memtable-messages.js';
export type { SnapshotMessage } from './snapshot-messages.js';
export { Bus } from './bus.js';

/** Every message on the bus: a discriminated union on `type`. */
export type Message = WalMessage | MemtableMessage | SnapshotMessage;
