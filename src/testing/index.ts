/**
 * `durable-kv/testing`: file systems for crash and fault-injection tests of code built on durable-kv's
 * `FileSystem` interface, the seeded PRNG that makes those tests replayable, and the contract suite
 * a `FileSystem` implementation must pass.
 *
 * @module durable-kv/testing
 */
export { MemoryFileSystem, memorySectorBytes } from './memory-file-system.js';
export type { MemoryFileSystemOptions } from './memory-file-system.js';
export { FaultyFileSystem, FAULT_OPS } from './faulty-file-system.js';
export type { FaultCode, FaultFilter, FaultOp, FaultStats, FaultyFileSystemOptions } from './faulty-file-system.js';
export { Prng } from './prng.js';
export { fileSystemContract } from './file-system-contract.js';
export type { ContractTestFunctions, FileSystemFixture } from './file-system-contract.js';
export { ManualClock } from './manual-clock.js';
export { freePort, NatsCluster, natsServerMissing } from './nats-cluster.js';
export type { NatsNode } from './nats-cluster.js';
