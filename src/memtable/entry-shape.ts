/**
 * Keeps every `StoredEntry` small once any key has an expiry.
 *
 * V8 gives all object literals `{ value, version, expiresAt }` one hidden class, and tracks a
 * representation per field: while every `expiresAt` is a small integer (0: no expiry) it is stored
 * inline, but the first expiry (epoch ms, past the small-integer range) turns the field into a
 * "double" field, and from then on every entry's `expiresAt` (0 too) is a separate boxed number:
 * 16 more bytes and one more allocation per key, for the whole store (measured: 137.7 → 152.3 heap
 * bytes per key at 300k keys after one `put` with `ttlMs`). A field that once held a non-number is
 * "tagged" instead: small integers stay inline and only a real expiry is boxed. This runs once, when
 * the memtable is loaded, before any entry exists; `version` gets the same treatment for stores past
 * 2^31 writes. test/memtable/entry-shape.test.ts checks the effect.
 */
const shape: { value: string; version: number | null; expiresAt: number | null } = { value: '', version: 0, expiresAt: 0 };
shape.version = null;
shape.expiresAt = null;

/**
 * Exported so that it lives as long as the module: V8 forgets a hidden class no live object uses,
 * and would make a fresh one, with the narrow fields again, for the next entry.
 */
export const generalizedEntryShape: object = shape;
