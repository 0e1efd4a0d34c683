/**
 * Errors with a stable `code`. Callers branch on `code`, never on the message.
 */
export type ErrorCode =
  | 'ERR_INVALID_ARG'
  | 'ERR_STORE_CLOSED'
  | 'ERR_STORE_LOCKED'
  | 'ERR_STORE_CORRUPT'
  | 'ERR_STORE_FAILED'
  | 'ERR_STORE_OVERLOADED'
  | 'ERR_CHANGES_UNAVAILABLE'
  | 'ERR_NOT_A_NUMBER'
  | 'ERR_NO_STORE'
  | 'ERR_STORE_EXISTS'
  | 'ERR_UNSAFE_BIND'
  | 'ERR_LISTEN'
  | 'ERR_NOT_LEADER'
  | 'ERR_REPLICATION_FAILED';

export class DurableKVError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A key, value, option or batch that the store refuses; nothing was written. */
export class InvalidArgumentError extends DurableKVError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_INVALID_ARG', message, options);
  }
}

/** The store is closing or closed. */
export class StoreClosedError extends DurableKVError {
  constructor(message = 'the store is closed', options?: { cause?: unknown }) {
    super('ERR_STORE_CLOSED', message, options);
  }
}

/** Another store (in this process or another) has the directory open. */
export class StoreLockedError extends DurableKVError {
  readonly dir: string;
  constructor(dir: string, options?: { cause?: unknown }) {
    super('ERR_STORE_LOCKED', `the store at ${dir} is already open (in this process or another)`, options);
    this.dir = dir;
  }
}

/** Asked to open an existing store only (`createIfMissing: false`), and the directory holds none. */
export class NoStoreError extends DurableKVError {
  readonly dir: string;
  constructor(dir: string, options?: { cause?: unknown }) {
    super('ERR_NO_STORE', `no durable-kv store at ${dir}: it does not exist (createIfMissing is false)`, options);
    this.dir = dir;
  }
}

/** Asked to create a store only (`errorIfExists: true`), and the directory holds one. */
export class StoreExistsError extends DurableKVError {
  readonly dir: string;
  constructor(dir: string, options?: { cause?: unknown }) {
    super('ERR_STORE_EXISTS', `a durable-kv store exists at ${dir} (errorIfExists is true)`, options);
    this.dir = dir;
  }
}

/** Damage on disk that is not a torn tail: a record or block with valid data after it fails its check. */
export class StoreCorruptError extends DurableKVError {
  readonly file: string;
  readonly offset: number;
  readonly reason: string;
  constructor(file: string, offset: number, reason: string, options?: { cause?: unknown }) {
    super('ERR_STORE_CORRUPT', `corrupt data in ${file} at byte ${offset}: ${reason}`, options);
    this.file = file;
    this.offset = offset;
    this.reason = reason;
  }
}

/** A write or fsync failed; the store refuses writes until it is closed and reopened. */
export class StoreFailedError extends DurableKVError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_STORE_FAILED', message, options);
  }
}

/** The WAL mailbox is full; the write was not queued. Retry after some pending writes complete. */
export class StoreOverloadedError extends DurableKVError {
  constructor(message: string) {
    super('ERR_STORE_OVERLOADED', message);
  }
}

/** `changes({ since })` asked for history the WAL no longer holds (a snapshot compacted it). */
export class ChangesUnavailableError extends DurableKVError {
  readonly oldestSeq: number | undefined;
  constructor(message: string, oldestSeq: number | undefined, options?: { cause?: unknown }) {
    super('ERR_CHANGES_UNAVAILABLE', message, options);
    this.oldestSeq = oldestSeq;
  }
}

/** `increment` of a value that is not a decimal integer, or to a result beyond ±(2^53 − 1); nothing was written. */
export class NotANumberError extends DurableKVError {
  readonly key: string;
  constructor(key: string, message: string) {
    super('ERR_NOT_A_NUMBER', message);
    this.key = key;
  }
}

/**
 * A write to a replica that is not its group's leader: a follower, or a leader that a newer one
 * fenced off. Nothing was written. `leader` names the current leader when it is known.
 */
export class NotLeaderError extends DurableKVError {
  readonly leader: string | undefined;
  constructor(message: string, leader?: string, options?: { cause?: unknown }) {
    super('ERR_NOT_LEADER', message, options);
    this.leader = leader;
  }
}

/**
 * Replication could not do what a write needed (the stream refused or lost a message, replication
 * stopped before the write was shipped): the write is not acknowledged as replicated, and may or may
 * not be in the stream.
 */
export class ReplicationFailedError extends DurableKVError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_REPLICATION_FAILED', message, options);
  }
}

/**
 * A broken invariant is a bug in durable-kv: stop, do not limp on. On a path run per record, per
 * entry or per request, give a static message, or build one only on failure with
 * `if (!condition) invariantBroken(...)`: a template literal argument is built on every call.
 */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) invariantBroken(message);
}

export function invariantBroken(message: string): never {
  throw new Error(`durable-kv invariant broken: ${message}`);
}
