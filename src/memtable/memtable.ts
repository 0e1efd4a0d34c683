import { assert } from '../errors.js';
import './entry-shape.js';
import type { FrozenView, KeyRange, StoredEntry } from '../types.js';
import { overlayMergeSliceMs, orderedIndexIdleWritesMin } from '../limits.js';
import { OrderedIndex, type IndexSnapshot } from './ordered-index.js';
import { isExpired } from './expiry.js';
import { normalizeRange } from './range-options.js';
import { PendingBlocks, type PendingBlock } from './pending-blocks.js';

const tombstone = Symbol('deleted during snapshot');
type OverlayValue = StoredEntry | typeof tombstone;

/**
 * The live data: a Map, plus an overlay while a snapshot runs, plus the snapshot blocks an open has
 * not decoded yet (see `PendingBlocks`: they load on first touch and in the background).
 *
 * A snapshot must see the map exactly as of its seq while writes go on. Copying a million-entry Map
 * would stall the event loop, so instead the base map is frozen and every write lands in an overlay
 * (with tombstones for deletes); reads look in the overlay first. When the snapshot is written the
 * overlay is merged back into the base in slices, between event-loop turns.
 */
export class Memtable {
  #base: Map<string, StoredEntry>;
  #overlay: Map<string, OverlayValue> | undefined;
  #frozen = false;
  #size = 0;
  /**
   * The keys in order, built on the first range read and kept current by every write after it. A
   * store that never reads a range never pays for it; one that stops reading ranges stops paying
   * once more writes than keys have passed without one (a rebuild then costs less than they did).
   */
  #index: OrderedIndex<StoredEntry> | undefined;
  #writesSinceRange = 0;
  /** Empty whenever the overlay or the ordered index exists: both load every pending block first. */
  readonly #pending: PendingBlocks;
  readonly #intoBase = (key: string, entry: StoredEntry) => void this.#base.set(key, entry);

  /** Takes ownership of `initial` and `pending` (what recovery built; no key of the map lies in a pending block). */
  constructor(initial: Map<string, StoredEntry> = new Map(), pending = new PendingBlocks()) {
    this.#base = initial;
    this.#pending = pending;
  }

  get size(): number {
    return (this.#overlay === undefined ? this.#base.size : this.#size) + this.#pending.entries;
  }

  /** Entries of the snapshot not yet decoded into the map (they load in the background). */
  get pendingEntries(): number {
    return this.#pending.entries;
  }

  /** The key's entry, expired or not: readers check `expiresAt` against their clock. */
  get(key: string): StoredEntry | undefined {
    if (this.#overlay !== undefined) {
      const value = this.#overlay.get(key);
      if (value !== undefined) return value === tombstone ? undefined : value;
    }
    const entry = this.#base.get(key);
    if (entry !== undefined || this.#pending.entries === 0) return entry;
    return this.#pending.loadCovering(key, this.#intoBase) ? this.#base.get(key) : undefined;
  }

  /**
   * Loads pending blocks in key order until `deadlineMs` (at least one); whether any are left. The
   * engine calls it between event-loop turns after open.
   */
  loadSlice(deadlineMs: number): boolean {
    while (this.#pending.loadNext(this.#intoBase)) if (performance.now() >= deadlineMs) return true;
    return false;
  }

  /** Every pending block into the map, now: before anything that needs every entry at once. */
  #loadAll(): void {
    if (this.#pending.entries > 0) this.#pending.loadAll(this.#intoBase);
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  set(key: string, value: StoredEntry): void {
    assert(value.version >= 1, 'an entry has the version of the record that wrote it');
    if (this.#pending.entries > 0 && !this.#base.has(key)) this.#pending.loadCovering(key, this.#intoBase);
    if (this.#index !== undefined) this.#indexForWrite()?.set(key, value);
    if (this.#overlay === undefined) {
      this.#base.set(key, value);
      return;
    }
    if (!this.has(key)) this.#size++;
    this.#overlay.set(key, value);
  }

  delete(key: string): void {
    if (this.#pending.entries > 0 && !this.#base.has(key)) this.#pending.loadCovering(key, this.#intoBase);
    if (this.#index !== undefined) this.#indexForWrite()?.delete(key);
    if (this.#overlay === undefined) {
      this.#base.delete(key);
      return;
    }
    if (this.has(key)) this.#size--;
    this.#overlay.set(key, tombstone);
  }

  /**
   * The entries in a checked range, in key order (UTF-8 bytes), as they are now: later writes do
   * not show. Entries expired at `nowMs` are skipped (and not counted toward the limit).
   */
  range(range: KeyRange = normalizeRange(), nowMs = 0): IterableIterator<[string, StoredEntry]> {
    const keep = nowMs === 0 ? undefined : (entry: StoredEntry) => !isExpired(entry.expiresAt, nowMs);
    return this.#indexForRead().snapshot().range(range, keep);
  }

  /**
   * Every entry as of now, frozen: O(1) once the ordered index is built (copy-on-write; later writes
   * copy only the nodes on their path). What a read view pins.
   */
  pin(): IndexSnapshot<StoredEntry> {
    return this.#indexForRead().snapshot();
  }

  /**
   * Deletes every key in `range` (in its order, up to its limit), through the ordered index. Expired
   * keys not yet removed count like any other: what a record deletes must not depend on the clock,
   * or replay would delete other keys. Returns how many of the keys deleted were live at `nowMs`.
   */
  deleteRange(range: KeyRange, nowMs: number): number {
    const keys = this.#indexForRead().keysIn(range);
    let live = 0;
    for (const key of keys) {
      const entry = this.get(key);
      if (entry !== undefined && !isExpired(entry.expiresAt, nowMs)) live++;
      this.delete(key);
    }
    return live;
  }

  /** The ordered index, built now if it is not; a range read restarts the count of writes without one. */
  #indexForRead(): OrderedIndex<StoredEntry> {
    this.#loadAll();
    this.#index ??= OrderedIndex.fromMap(this.#liveMap());
    this.#writesSinceRange = 0;
    return this.#index;
  }

  /** Whether the ordered index is built (for stats and tests). */
  get indexed(): boolean {
    return this.#index !== undefined;
  }

  /** The index a write must keep current, or undefined once it is dropped (too many writes without a range read). */
  #indexForWrite(): OrderedIndex<StoredEntry> | undefined {
    const index = this.#index;
    if (index !== undefined && ++this.#writesSinceRange > Math.max(index.size, orderedIndexIdleWritesMin)) this.#index = undefined;
    return this.#index;
  }

  /** The live entries as one map: the base itself, or a merged copy while a snapshot has it frozen. */
  #liveMap(): ReadonlyMap<string, StoredEntry> {
    if (this.#overlay === undefined) return this.#base;
    const live = new Map(this.#base);
    for (const [key, value] of this.#overlay) {
      if (value === tombstone) live.delete(key);
      else live.set(key, value);
    }
    return live;
  }

  /** Every entry (loading what is pending first), as of the call. */
  entries(): IterableIterator<[string, StoredEntry]> {
    this.#loadAll();
    return this.loadedEntries();
  }

  /**
   * The entries decoded so far, without loading pending blocks: every entry with an expiry is among
   * them (recovery loads those blocks at once), which is all the expiry actor needs at open.
   */
  *loadedEntries(): IterableIterator<[string, StoredEntry]> {
    const overlay = this.#overlay;
    if (overlay === undefined) {
      yield* this.#base.entries();
      return;
    }
    // A copy: while the caller pauses between entries, the merge after a snapshot moves overlay
    // entries into the base, and a key could otherwise slip between the two passes.
    const pinned = new Map(overlay);
    for (const entry of this.#base) if (!pinned.has(entry[0])) yield entry;
    for (const [key, value] of pinned) if (value !== tombstone) yield [key, value];
  }

  /** Freezes the base map as the view of `seq`; writes go to the overlay until `thaw`. */
  freeze(seq: number): FrozenView {
    assert(!this.#frozen, 'one snapshot at a time may freeze the memtable');
    this.#loadAll();
    if (this.#overlay !== undefined) this.#mergeAll();
    this.#size = this.#base.size;
    this.#overlay = new Map();
    this.#frozen = true;
    if (this.#index === undefined) return { seq, map: this.#base };
    return { seq, map: this.#base, ordered: this.#index.snapshot().range() };
  }

  /** Ends the freeze and merges the overlay back in slices; resolves once the overlay is gone. */
  async thaw(): Promise<void> {
    assert(this.#frozen, 'thaw without freeze');
    this.#frozen = false;
    while (this.#overlay !== undefined && !this.#frozen) {
      this.#mergeSlice(performance.now() + overlayMergeSliceMs);
      if (this.#overlay !== undefined) await new Promise((resolve) => setImmediate(resolve));
    }
  }

  #mergeAll(): void {
    this.#mergeSlice(Number.POSITIVE_INFINITY);
  }

  /** Moves overlay entries into the base until `deadlineMs` (checked every 256 entries). */
  #mergeSlice(deadlineMs: number): void {
    const overlay = this.#overlay;
    assert(overlay !== undefined, 'merge without overlay');
    let merged = 0;
    for (const [key, value] of overlay) {
      if (value === tombstone) this.#base.delete(key);
      else this.#base.set(key, value);
      overlay.delete(key);
      if ((++merged & 255) === 0 && performance.now() >= deadlineMs) break;
    }
    if (overlay.size === 0) this.#overlay = undefined;
  }
}

/**
 * The map recovery replays into. A deleteRange record goes through an ordered index, built at the
 * first one and kept current by every replayed write after it: a scan of the whole map per record
 * would make a log full of small range deletes take hours to replay.
 *
 * Snapshot blocks can be left pending (`addPending`): a replayed write to a key in a pending block's
 * range loads that block first, as the memtable does (see `PendingBlocks`), so a short WAL after a
 * big snapshot decodes only the blocks it touches. `pending` then goes to the memtable.
 */
export class ReplayTarget {
  readonly map: Map<string, StoredEntry>;
  readonly pending = new PendingBlocks();
  #index: OrderedIndex<StoredEntry> | undefined;
  readonly #intoMap = (key: string, entry: StoredEntry) => void this.map.set(key, entry);

  constructor(map: Map<string, StoredEntry>) {
    this.map = map;
  }

  addPending(block: PendingBlock): void {
    assert(this.#index === undefined, 'snapshot blocks come before any replayed record');
    this.pending.add(block);
  }

  loadPending(): void {
    this.pending.loadAll(this.#intoMap);
  }

  pendingLoadMs(): number {
    return this.pending.loadMs;
  }

  // A key already in the map lies in no pending block (the invariant): only a key the map lacks is looked for.
  set(key: string, value: StoredEntry): void {
    assert(value.version >= 1, 'an entry has the version of the record that wrote it');
    if (this.pending.entries > 0 && !this.map.has(key)) this.pending.loadCovering(key, this.#intoMap);
    this.map.set(key, value);
    this.#index?.set(key, value);
  }

  delete(key: string): void {
    if (this.pending.entries > 0 && !this.map.has(key)) this.pending.loadCovering(key, this.#intoMap);
    this.map.delete(key);
    this.#index?.delete(key);
  }

  get(key: string): StoredEntry | undefined {
    const entry = this.map.get(key);
    if (entry !== undefined || this.pending.entries === 0) return entry;
    return this.pending.loadCovering(key, this.#intoMap) ? this.map.get(key) : undefined;
  }

  deleteRange(range: KeyRange): void {
    this.pending.loadAll(this.#intoMap);
    this.#index ??= OrderedIndex.fromMap(this.map);
    for (const key of this.#index.keysIn(range)) this.delete(key);
  }

  clear(): void {
    this.map.clear();
    this.pending.clear();
    this.#index = undefined;
  }
}
