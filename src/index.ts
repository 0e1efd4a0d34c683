/**
 * `durable-kv`: the store ({@link DurableKVStore}), its options, events, reports and errors, and the
 * {@link FileSystem} interface it does its I/O through.
 *
 * @module durable-kv
 */
export {
  DurableKVStore,
  type BatchOperation,
  type BatchOptions,
  type DeleteOptions,
  type Entry,
  type EngineStats,
  type PutOptions,
  type StoreStats,
  type TtlOptions,
  type ValueFor,
} from './store.js';
export type { ReadView } from './read-view.js';
export type { StoreOptions } from './options.js';
export type { StoreState } from './lifecycle.js';
export type { StoreEvents, OperationEvent } from './events.js';
export type { StoreSignal, StoreSignalType } from './signals.js';
export type { Change, ChangeOp } from './change-feed.js';
export type { SnapshotResult, SyncMode } from './types.js';
export type { RecoveryReport, DamageReport, RepairedDamage } from './recovery/report.js';
export type { LostEntries } from './format/snapshot-salvage.js';
export type { DeleteRangeResult, RangeOptions, WriteResult } from './store.js';
export type { VerifyResult, ScrubbedFile } from './recovery/scrub.js';
export type { RepairReport } from './repair.js';
export type { ValueEncoding } from './codec.js';
export type { FileSystem, FileHandle, ReadHandle, FileLock } from './fs/file-system.js';
export { NodeFileSystem } from './fs/node-file-system.js';
export { dumpWal } from './dump.js';
export {
  DurableKVError,
  InvalidArgumentError,
  StoreClosedError,
  StoreLockedError,
  StoreCorruptError,
  StoreFailedError,
  StoreOverloadedError,
  ChangesUnavailableError,
  NotANumberError,
  NoStoreError,
  StoreExistsError,
  NotLeaderError,
  ReplicationFailedError,
  type ErrorCode,
} from './errors.js';
export { RollingMetrics, type MetricsReading, type LatencySummary, type Measurable } from './metrics/rolling-metrics.js';
