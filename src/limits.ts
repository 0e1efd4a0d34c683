/**
 * Every bound in durable-kv, in one place. Units and qualifiers come last in the names.
 *
 * The defaults that a user may change are options of `DurableKVStore.open` (see `StoreOptions`);
 * they start from the values here. The rest are format limits fixed by the on-disk layout.
 */

/** Largest key, in UTF-8 bytes. Keys travel in every record and snapshot entry. */
export const keyBytesMaxDefault = 64 * 1024;
/** Largest value, in encoded bytes. */
export const valueBytesMaxDefault = 16 * 1024 * 1024;
/** Most operations in one `batch()` call (a batch is one WAL record). */
export const batchOpsMaxDefault = 100_000;
/** Largest WAL record payload the format accepts; bounds a reader's allocation on a garbled length. */
export const recordBytesMax = 256 * 1024 * 1024;
/** durable-kv/level's `clear({ snapshot })` deletes at most this many bytes of keys per batch (one record each): far below recordBytesMax. */
export const levelClearKeyBytesMax = 16 * 1024 * 1024;

/** Writes queued in the WAL actor's mailbox before new writes are refused with ERR_STORE_OVERLOADED. */
export const mailboxWritesMaxDefault = 1_000_000;
/** Encoded bytes queued in the mailbox before new writes are refused. */
export const mailboxBytesMaxDefault = 512 * 1024 * 1024;
/** One group commit writes at most this many bytes (a single larger record still goes alone). */
export const groupBytesMax = 8 * 1024 * 1024;

/** Appends up to this size are written synchronously to the page cache (no thread-pool hop). */
export const appendSyncBytesMax = 64 * 1024;
/** A WAL segment is closed and a new one started once it grows past this. */
export const segmentBytesMaxDefault = 64 * 1024 * 1024;
/**
 * The largest `segmentBytesMax` accepted. Offsets inside a segment travel in records as u32
 * (durableBytes), and a segment may pass `segmentBytesMax` by one group before it rotates: at most
 * groupBytesMax, or a single larger record (recordBytesMax of payload plus a header well under 1 KiB).
 */
export const segmentBytesMaxLimit = 2 ** 32 - 1 - Math.max(groupBytesMax, recordBytesMax + 1024);
/**
 * A clean close's sync marker starts on a boundary of this many bytes, in a block of its own: damage
 * to the block holding the last records then cannot take their proof of durability with it. 4 KiB is
 * the largest common sector and page.
 */
export const syncMarkerAlignBytes = 4096;
/**
 * Under sync 'always', WAL segments are grown by this many zero bytes ahead of the writes (more if
 * one group needs more): the group's fdatasync then overwrites allocated blocks, cheaper than an
 * append, which must also commit the new file size. One slow fsync per chunk, not per group.
 */
export const walPreallocateBytes = 1024 * 1024;
/**
 * Snapshots kept, newest first, each with the WAL since it: a damaged newest snapshot is then
 * restored from the one before and the WAL with no loss. 2 costs about one more snapshot and the
 * WAL between two snapshots on disk; 1 keeps only the newest (no redundant copy of its data).
 */
export const snapshotGenerationsDefault = 2;
/** The most generations accepted: each costs a snapshot's worth of disk. */
export const snapshotGenerationsMax = 16;
/** With autoSnapshot on, a snapshot starts once the WAL holds this many bytes since the last one. */
export const autoSnapshotWalBytesDefault = 64 * 1024 * 1024;
/** `sync: 'interval'` fsyncs this often. */
export const syncIntervalMsDefault = 1000;

/**
 * A snapshot is written in blocks of at most this many bytes of entries (one entry larger than that
 * takes a block of its own), each with its own CRC; one block is one write. It bounds what one
 * damaged byte of a snapshot costs when no older generation restores it: one block's entries.
 */
export const snapshotBlockBytesDefault = 256 * 1024;
/** The `snapshotBlockBytes` option's range: small blocks cost a CRC and an index record each. */
export const snapshotBlockBytesMin = 512;
export const snapshotBlockBytesMax = 16 * 1024 * 1024;
/** Snapshots are read (recovery, read-back, scrub) in chunks of this size, however small their blocks. */
export const snapshotReadChunkBytes = 4 * 1024 * 1024;
/** Snapshot blocks are written in appends of up to this size (a block larger than it alone). */
export const snapshotWriteChunkBytes = 4 * 1024 * 1024;
/** The snapshot writer yields to the event loop after encoding for this long: short, so writers get a turn between slices. */
export const snapshotSliceMs = 0.05;
/**
 * The ordered index (built by the first range read) is dropped once more writes than this, or than
 * it has keys, pass without a range read: keeping it current costs each write a B-tree insert.
 */
export const orderedIndexIdleWritesMin = 100_000;
/** A snapshot without the ordered index sorts its keys in runs of this many, one run per event-loop turn. */
export const sortRunKeys = 4096;
/** Active expiry looks for expired keys this often (ms): a key is removed within about this long of its time. */
export const expiryIntervalMsDefault = 250;
/** Active expiry removes at most this many keys per WAL record. */
export const expiryRecordKeysMax = 1024;
/**
 * ... and at most this many bytes of keys, give or take one key (keys may be up to keyBytesMax each):
 * far below recordBytesMax, and small enough that the record fits one replication message (NATS's
 * default max_payload is 1 MiB).
 */
export const expiryRecordKeyBytesMax = 256 * 1024;
/** Active expiry stops a slice of looking for expired keys after this long, so it never stalls the event loop. */
export const expirySliceMs = 2;
/** Active expiry's records in flight at once: enough to keep group commits full, few enough to leave room for writers. */
export const expiryRecordsInFlightMax = 4;
/**
 * The expiry heap is rebuilt from the live keys once its stale entries (keys rewritten or deleted
 * before their time) outnumber this plus twice the keys: each TTL write pushes one entry.
 */
export const expiryHeapSlackEntries = 65_536;

/** Merging the overlay back into the memtable after a snapshot yields after this long. */
export const overlayMergeSliceMs = 2;

/**
 * How long the background load of an open's pending snapshot blocks runs per event-loop turn: short
 * enough that reads and writes keep their latency, long enough to be done in a few seconds.
 */
export const backgroundLoadSliceMs = 4;

/** Replication, `ack: 'local'`: records acknowledged but not yet in the stream before writers wait. */
export const replicationLagRecordsMaxDefault = 1_000;
/** A publish to the stream with no answer in this long has an unknown outcome: it is asked again. */
export const replicationPublishTimeoutMsDefault = 5_000;
/** Waits between asking again after an unknown outcome: doubling from the first to the most. */
export const replicationRetryDelayMsMin = 50;
export const replicationRetryDelayMsMax = 2_000;
/** Room kept in each stream message for NATS's and our headers, below the server's max_payload. */
export const replicationHeaderBytesMax = 1024;
/** Frames a follower has handed to its store and not yet seen committed: bounds its memory. */
export const replicationFramesInFlightMax = 64;
/** A follower's consumer that delivers nothing this long while the stream holds more is replaced. */
export const replicationConsumerStallMs = 4_000;
/** Records a follower has handed to its store and not yet seen committed: far below the mailbox's limit. */
export const replicationRecordsInFlightMax = 50_000;
