import type { FileSystem } from './fs/file-system.js';
import type { SyncMode } from './types.js';
import type { ValueEncoding } from './codec.js';
import { NodeFileSystem } from './fs/node-file-system.js';
import { InvalidArgumentError } from './errors.js';
import * as limits from './limits.js';
import type { StoreEvents } from './events.js';

export interface StoreOptions {
  /** When a write is acknowledged: 'always' (after fdatasync, the default), 'interval', 'never'. */
  sync?: SyncMode;
  /** With sync: 'interval', how often the WAL is fsynced. Default 1000. */
  syncIntervalMs?: number;
  /** How values are given and returned: 'utf8' strings (default), 'json' values, 'binary' Uint8Array. */
  valueEncoding?: ValueEncoding;
  /** Snapshot by itself once the WAL grows past `walBytes` (default 64 MiB); `false` never does. */
  autoSnapshot?: boolean | { walBytes: number };
  /** The file system to use; `durable-kv/testing` has in-memory and fault-injecting ones. */
  fs?: FileSystem;
  /** Largest key in UTF-8 bytes. Default 64 KiB. */
  keyBytesMax?: number;
  /** Largest value in encoded bytes. Default 16 MiB. */
  valueBytesMax?: number;
  /** Most operations in one batch. Default 100,000. */
  batchOpsMax?: number;
  /** A WAL segment is closed once it is this big. Default 64 MiB; at most about 3.7 GiB (`segmentBytesMaxLimit`), as offsets in a segment are u32. */
  segmentBytesMax?: number;
  /** Writes waiting in the WAL mailbox before new ones get ERR_STORE_OVERLOADED. Default 1,000,000. */
  mailboxWritesMax?: number;
  /** Bytes waiting in the WAL mailbox before new writes get ERR_STORE_OVERLOADED. Default 512 MiB. */
  mailboxBytesMax?: number;
  /**
   * Keep WAL segments that a snapshot covers for this many ms before deleting them, so
   * `changes({ since })` can replay history older than the last snapshot. Default 0.
   */
  walRetentionMs?: number;
  /**
   * Snapshots kept, each with the WAL since it, so that a damaged newest snapshot can be repaired
   * from the one before with no loss. Default 2; 1 keeps only the newest and its WAL (less disk, no
   * redundant copy of the snapshot's data). At most 16.
   */
  snapshotGenerations?: number;
  /**
   * Bytes of entries in one snapshot block (each block has its own checksum): what one damaged byte
   * of a snapshot can cost when no older generation restores it. Default 256 KiB; 512 bytes to 16 MiB.
   */
  snapshotBlockBytes?: number;
  /**
   * The wall clock TTLs are measured against, in epoch ms (default Date.now). Tests and simulations
   * inject their own to make expiry replayable; the store keeps a high-water mark over it.
   */
  clock?: () => number;
  /** Active expiry: how often expired keys are looked for and removed, in ms. Default 250. */
  expiryIntervalMs?: number;
  /** Listeners attached before recovery starts, so they also hear 'recovery' and 'torn-tail'. */
  listeners?: Partial<{ [E in keyof StoreEvents]: (...args: StoreEvents[E]) => void }>;
}

export interface ResolvedOptions {
  sync: SyncMode;
  syncIntervalMs: number;
  valueEncoding: ValueEncoding;
  autoSnapshotWalBytes: number | undefined;
  fs: FileSystem;
  keyBytesMax: number;
  valueBytesMax: number;
  batchOpsMax: number;
  segmentBytesMax: number;
  mailboxWritesMax: number;
  mailboxBytesMax: number;
  walRetentionMs: number;
  snapshotGenerations: number;
  snapshotBlockBytes: number;
  clock: () => number;
  expiryIntervalMs: number;
  listeners: StoreOptions['listeners'];
}

export function resolveOptions(options: StoreOptions = {}): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options must be an object');
  const sync = oneOf('sync', options.sync, ['always', 'interval', 'never'] as const, 'always');
  const valueEncoding = oneOf('valueEncoding', options.valueEncoding, ['utf8', 'json', 'binary'] as const, 'utf8');
  const resolved = {
    sync,
    syncIntervalMs: timerInterval('syncIntervalMs', options.syncIntervalMs, limits.syncIntervalMsDefault),
    valueEncoding,
    autoSnapshotWalBytes: autoSnapshotBytes(options.autoSnapshot),
    fs: fileSystem(options.fs),
    keyBytesMax: positiveInteger('keyBytesMax', options.keyBytesMax, limits.keyBytesMaxDefault),
    valueBytesMax: positiveInteger('valueBytesMax', options.valueBytesMax, limits.valueBytesMaxDefault),
    batchOpsMax: positiveInteger('batchOpsMax', options.batchOpsMax, limits.batchOpsMaxDefault),
    segmentBytesMax: segmentBytesMaxOption(options.segmentBytesMax),
    mailboxWritesMax: positiveInteger('mailboxWritesMax', options.mailboxWritesMax, limits.mailboxWritesMaxDefault),
    mailboxBytesMax: positiveInteger('mailboxBytesMax', options.mailboxBytesMax, limits.mailboxBytesMaxDefault),
    walRetentionMs: nonNegativeInteger('walRetentionMs', options.walRetentionMs, 0),
    snapshotGenerations: snapshotGenerationsOption(options.snapshotGenerations),
    snapshotBlockBytes: snapshotBlockBytesOption(options.snapshotBlockBytes),
    clock: clockOption(options.clock),
    expiryIntervalMs: timerInterval('expiryIntervalMs', options.expiryIntervalMs, limits.expiryIntervalMsDefault),
    listeners: listenersOption(options.listeners),
  };
  // One put must fit one WAL record, or it could be accepted and then never be written.
  if (resolved.keyBytesMax + resolved.valueBytesMax + putRecordOverheadBytes > limits.recordBytesMax) {
    throw new InvalidArgumentError(`keyBytesMax + valueBytesMax must stay under the ${limits.recordBytesMax}-byte WAL record limit`);
  }
  return resolved;
}

/** What the engine calls on a file system: checked up front, or a wrong `fs` fails later as a bare TypeError. */
const fileSystemMethods = [
  'mkdir',
  'readdir',
  'readFile',
  'openRead',
  'openAppend',
  'rename',
  'unlink',
  'truncate',
  'size',
  'syncDir',
  'lock',
] as const;

/** The `fs` option (also `repair`'s): the real file system if absent, else something that implements FileSystem. */
export function fileSystem(value: unknown): FileSystem {
  if (value === undefined) return new NodeFileSystem();
  if (typeof value !== 'object' || value === null) throw new InvalidArgumentError('fs must be an object implementing FileSystem');
  const missing = fileSystemMethods.find((name) => typeof (value as Record<string, unknown>)[name] !== 'function');
  if (missing !== undefined) throw new InvalidArgumentError(`fs must implement FileSystem: it has no ${missing}() method`);
  return value as FileSystem;
}

function clockOption(value: unknown): () => number {
  if (value === undefined) return Date.now;
  if (typeof value !== 'function') throw new InvalidArgumentError('clock must be a function returning epoch ms');
  return value as () => number;
}

function listenersOption(value: unknown): StoreOptions['listeners'] {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null) throw new InvalidArgumentError('listeners must be an object of event listeners');
  for (const [name, listener] of Object.entries(value)) {
    if (listener !== undefined && typeof listener !== 'function') throw new InvalidArgumentError(`listeners.${name} must be a function`);
  }
  return value as StoreOptions['listeners'];
}

/** A one-put record's bytes besides key and value: header 20, op count 4, op type 1, two lengths 8. */
const putRecordOverheadBytes = 33;

/** Offsets in a segment must fit the records' u32 durableBytes field (see segmentBytesMaxLimit). */
function segmentBytesMaxOption(value: unknown): number {
  const bytes = positiveInteger('segmentBytesMax', value, limits.segmentBytesMaxDefault);
  if (bytes > limits.segmentBytesMaxLimit) throw new InvalidArgumentError(`segmentBytesMax must be at most ${limits.segmentBytesMaxLimit}`);
  return bytes;
}

/** The `snapshotGenerations` option (also `repair`'s): a positive integer, at most snapshotGenerationsMax. */
export function snapshotGenerationsOption(value: unknown): number {
  const generations = positiveInteger('snapshotGenerations', value, limits.snapshotGenerationsDefault);
  if (generations > limits.snapshotGenerationsMax) {
    throw new InvalidArgumentError(`snapshotGenerations must be at most ${limits.snapshotGenerationsMax}`);
  }
  return generations;
}

function snapshotBlockBytesOption(value: unknown): number {
  const bytes = positiveInteger('snapshotBlockBytes', value, limits.snapshotBlockBytesDefault);
  if (bytes < limits.snapshotBlockBytesMin || bytes > limits.snapshotBlockBytesMax) {
    throw new InvalidArgumentError(
      `snapshotBlockBytes must be between ${limits.snapshotBlockBytesMin} and ${limits.snapshotBlockBytesMax}`,
    );
  }
  return bytes;
}

function oneOf<T extends string>(name: string, value: unknown, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T)) throw new InvalidArgumentError(`${name} must be one of ${allowed.join(', ')}`);
  return value as T;
}

function positiveInteger(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || (value as number) <= 0) throw new InvalidArgumentError(`${name} must be a positive integer`);
  return value as number;
}

/** Node runs a timer of more than 2^31 − 1 ms after 1 ms instead: such an interval is refused. */
const timerIntervalMsMax = 2 ** 31 - 1;

function timerInterval(name: string, value: unknown, fallback: number): number {
  const ms = positiveInteger(name, value, fallback);
  if (ms > timerIntervalMsMax) throw new InvalidArgumentError(`${name} must be at most ${timerIntervalMsMax} ms`);
  return ms;
}

function nonNegativeInteger(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || (value as number) < 0) throw new InvalidArgumentError(`${name} must be a non-negative integer`);
  return value as number;
}

function autoSnapshotBytes(value: StoreOptions['autoSnapshot']): number | undefined {
  if (value === undefined || value === true) return limits.autoSnapshotWalBytesDefault;
  if (value === false) return undefined;
  if (typeof value === 'object' && value !== null)
    return positiveInteger('autoSnapshot.walBytes', value.walBytes, limits.autoSnapshotWalBytesDefault);
  throw new InvalidArgumentError('autoSnapshot must be a boolean or { walBytes }');
}
