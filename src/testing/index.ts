/**
 * `durable-kv/testing`: file systems for crash and fault-injection tests of code built on durable-kv's
 * `FileSystem` interface, and the seeded PRNG that makes those tests replayable.
 *
 * @module durable-kv/testing
 */
export { MemoryFileSystem, memorySectorBytes } from './memory-file-system.js';
export type { MemoryFileSystemOptions } from './memory-file-system.js';
export { FaultyFileSystem, FAULT_OPS } from './faulty-file-system.js';
export type { FaultCode, FaultFilter, FaultOp, FaultStats, FaultyFileSystemOptions } from './faulty-file-system.js';
export { Prng } from './prng.js';
