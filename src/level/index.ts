/**
 * `durable-kv/level`: durable-kv as an abstract-level (v3) database.
 *
 * @module durable-kv/level
 */
export { DurableLevel, DurableSnapshot, type DurableLevelOptions } from './durable-level.js';
export type { LevelData } from './key-codec.js';
