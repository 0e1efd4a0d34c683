import type { StoredEntry, StoredValue } from '../../src/types.js';

/** A memtable entry holding `value`, written by the record of seq `version`, with no expiry. */
export function entry(value: StoredValue, version = 1, expiresAt = 0): StoredEntry {
  return { value, version, expiresAt };
}

/** A map of entries (version 1, no expiry) from plain values. */
export function entryMap(values: Iterable<readonly [string, StoredValue]> | Record<string, StoredValue>): Map<string, StoredEntry> {
  const pairs = Symbol.iterator in values ? (values as Iterable<readonly [string, StoredValue]>) : Object.entries(values);
  const map = new Map<string, StoredEntry>();
  for (const [key, value] of pairs) map.set(key, entry(value));
  return map;
}
