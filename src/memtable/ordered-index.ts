import sortedBtree from 'sorted-btree';
import { bulkLoad } from 'sorted-btree/extended/bulkLoad.js';
import { compareKeys, compareUnits, hasHighUnits, isAsciiKey, prefixSuccessor, sortedOrder } from './key-order.js';
import { type KeyRange, normalizeRange, type RangeOptions } from './range-options.js';

// sorted-btree is CommonJS: Node's ESM import gives its module.exports, whose `default` is the class;
// bundlers and Vitest apply the __esModule interop and give the class itself.
type BTreeClass = typeof sortedBtree.default;
const imported: unknown = sortedBtree;
const BTree: BTreeClass = typeof imported === 'function' ? (imported as BTreeClass) : sortedBtree.default;
type Tree<V> = InstanceType<typeof BTree<string, V>>;
/** Which entries a walk yields (the rest it skips, and they do not count toward the limit). */
export type EntryFilter<V> = (value: V) => boolean;

/** Children or entries per node: 64 keeps the tree 4 levels deep at a million keys. */
const maxNodeSize = 64;
/** Leaves filled to this share by the bulk load, leaving room for inserts before nodes split. */
const bulkLoadFactor = 0.9;

/** The comparator bulkLoad checks the (already guaranteed) order with: always "ascending". */
function acceptOrder(): number {
  return -1;
}

/**
 * Keys in UTF-8 byte order with their values: a copy-on-write B+ tree (sorted-btree).
 *
 * `snapshot()` is O(1): it shares every node with the live index, and a later write copies only the
 * nodes on its path. A snapshot therefore sees the entries exactly as they were when it was taken,
 * whatever is written afterwards, which is what a range walk that pauses between entries needs.
 */
export class OrderedIndex<V> {
  #tree: Tree<V>;
  /**
   * Whether no key ever stored has a code unit at or above 0xD800 (the usual case). The tree then
   * compares with `<` (compareUnits), which is exact against such keys whatever the other operand,
   * and several times cheaper than compareKeys; the first key that has one switches the tree to
   * compareKeys for good. Snapshots keep the comparator of their time, exact for their keys.
   */
  #lowOnly: boolean;
  /**
   * Whether every key ever stored is ASCII (`isAsciiKey`), told to snapshots for their readers. On
   * ASCII keys its test replaces the high-unit test (ASCII has none), so it costs no extra pass.
   */
  #asciiOnly: boolean;

  private constructor(tree: Tree<V>, lowOnly: boolean, asciiOnly: boolean) {
    this.#tree = tree;
    this.#lowOnly = lowOnly;
    this.#asciiOnly = asciiOnly;
  }

  static empty<V>(): OrderedIndex<V> {
    return new OrderedIndex<V>(new BTree<string, V>(undefined, compareUnits, maxNodeSize), true, true);
  }

  /**
   * Builds the index from distinct keys in any order and their values, in O(n) plus a mostly
   * comparison-free sort (`sortedOrder`). Does not keep or change the arrays.
   */
  static fromEntries<V>(keys: readonly string[], values: readonly V[]): OrderedIndex<V> {
    if (keys.length !== values.length) throw new RangeError('fromEntries: keys and values differ in length');
    if (new Set(keys).size !== keys.length) throw new RangeError('fromEntries: duplicate key');
    return OrderedIndex.#build(keys, values);
  }

  /** Builds the index from a map's entries (the memtable's lazy build). */
  static fromMap<V>(map: ReadonlyMap<string, V>): OrderedIndex<V> {
    const keys = new Array<string>(map.size);
    const values = new Array<V>(map.size);
    let i = 0;
    map.forEach((value, key) => {
      keys[i] = key;
      values[i++] = value;
    });
    return OrderedIndex.#build(keys, values);
  }

  static #build<V>(keys: readonly string[], values: readonly V[]): OrderedIndex<V> {
    const count = keys.length;
    let asciiOnly = true;
    let lowOnly = true;
    for (let i = 0; i < count && lowOnly; i++) {
      if (asciiOnly && isAsciiKey(keys[i])) continue;
      asciiOnly = false;
      lowOnly = !hasHighUnits(keys[i]);
    }
    const order = sortedOrder(keys, lowOnly);
    // Put each entry in its place by reading the inputs in their order and writing at its rank:
    // on a million entries this is several times faster than reading them in sorted order
    // (scattered loads stall; scattered stores do not).
    const rank = new Uint32Array(count);
    for (let i = 0; i < count; i++) rank[order[i]] = i;
    const sortedKeys = new Array<string>(count);
    const sortedValues = new Array<V>(count);
    for (let i = 0; i < count; i++) {
      const at = rank[i];
      sortedKeys[at] = keys[i];
      sortedValues[at] = values[i];
    }
    // bulkLoad would check the order with one comparison per key, reading every key again from
    // scattered memory (as long as the sort itself); `sortedOrder` guarantees it (see its tests),
    // so the load gets a comparator that accepts, and the tree the real one before any use.
    const tree = bulkLoad(sortedKeys, sortedValues, maxNodeSize, acceptOrder, bulkLoadFactor);
    tree._compare = lowOnly ? compareUnits : compareKeys;
    return new OrderedIndex<V>(tree, lowOnly, asciiOnly);
  }

  get size(): number {
    return this.#tree.size;
  }

  get(key: string): V | undefined {
    return this.#tree.get(key);
  }

  set(key: string, value: V): void {
    if (this.#lowOnly && !(this.#asciiOnly && isAsciiKey(key))) this.#noteKey(key);
    this.#tree.set(key, value, true);
  }

  /** A key that is not ASCII has come: clears `#asciiOnly`, and `#lowOnly` if it has a high unit. */
  #noteKey(key: string): void {
    this.#asciiOnly = false;
    if (!hasHighUnits(key)) return;
    this.#lowOnly = false;
    this.#tree._compare = compareKeys;
  }

  /** Removes `key`; whether it was there. */
  delete(key: string): boolean {
    return this.#tree.delete(key);
  }

  /** The keys in a checked range now, in its order and up to its limit: what a range delete removes. */
  keysIn(range: KeyRange): string[] {
    const keys: string[] = [];
    for (const [key] of walk(this.#tree, range, undefined)) keys.push(key);
    return keys;
  }

  /** The entries as of now, unaffected by later writes; O(1). */
  snapshot(): IndexSnapshot<V> {
    return new IndexSnapshot<V>(this.#tree.clone(), this.#asciiOnly);
  }

  /**
   * The entries in `options`' range as of this call: checks the options (throws a TypeError) and
   * takes a snapshot now, in O(1); the walk then seeks in O(log n) and yields lazily.
   */
  range(options?: RangeOptions): IterableIterator<[string, V]> {
    const range = normalizeRange(options);
    return walk(this.#tree.clone(), range, undefined);
  }
}

/** A frozen view of an `OrderedIndex`. */
export class IndexSnapshot<V> {
  readonly #tree: Tree<V>;
  /** Every key in the snapshot is ASCII (false can also mean "not known"). */
  readonly asciiOnly: boolean;

  /** @internal Made by `OrderedIndex.snapshot()`. */
  constructor(tree: Tree<V>, asciiOnly: boolean) {
    this.#tree = tree;
    this.asciiOnly = asciiOnly;
  }

  get size(): number {
    return this.#tree.size;
  }

  get(key: string): V | undefined {
    return this.#tree.get(key);
  }

  /**
   * Walks the snapshot: options as for `OrderedIndex.range`, or an already checked `KeyRange`;
   * `keep` skips entries (expired ones), which then do not count toward the limit.
   */
  range(options?: RangeOptions | KeyRange, keep?: EntryFilter<V>): IterableIterator<[string, V]> {
    const range = options !== undefined && 'lowerInclusive' in options ? options : normalizeRange(options);
    return walk(this.#tree, range, keep);
  }
}

/** Walks `tree` (never written again) over `range`. */
function walk<V>(tree: Tree<V>, range: KeyRange, keep: EntryFilter<V> | undefined): IterableIterator<[string, V]> {
  return range.reverse ? walkDown(tree, range, keep) : walkUp(tree, range, keep);
}

function* walkUp<V>(tree: Tree<V>, range: KeyRange, keep: EntryFilter<V> | undefined): IterableIterator<[string, V]> {
  let remaining = range.limit;
  if (remaining <= 0) return;
  const { lower, lowerInclusive, upper, upperInclusive, prefix } = range;
  const compare = tree._compare;
  for (const entry of tree.entries(lower)) {
    const key = entry[0];
    if (!lowerInclusive && key === lower) continue;
    if (upper !== undefined) {
      const c = compare(key, upper);
      if (c > 0 || (c === 0 && !upperInclusive)) return;
    }
    // Keys with the prefix are contiguous and the walk starts at or after the prefix.
    if (prefix !== '' && !key.startsWith(prefix)) return;
    if (keep !== undefined && !keep(entry[1])) continue;
    yield entry;
    if (--remaining === 0) return;
  }
}

function* walkDown<V>(tree: Tree<V>, range: KeyRange, keep: EntryFilter<V> | undefined): IterableIterator<[string, V]> {
  let remaining = range.limit;
  if (remaining <= 0) return;
  const { lower, lowerInclusive, prefix } = range;
  const compare = tree._compare;
  // Start at the lower of the upper bound and the prefix's successor (exclusive).
  let start = range.upper;
  let startInclusive = range.upperInclusive;
  const successor = prefix === '' ? undefined : prefixSuccessor(prefix);
  if (successor !== undefined && (start === undefined || compareKeys(successor, start) <= 0)) {
    start = successor;
    startInclusive = false;
  }
  for (const entry of tree.entriesReversed(start, undefined, !startInclusive)) {
    const key = entry[0];
    if (lower !== undefined) {
      const c = compare(key, lower);
      if (c < 0 || (c === 0 && !lowerInclusive)) return;
    }
    if (prefix !== '' && !key.startsWith(prefix)) return;
    if (keep !== undefined && !keep(entry[1])) continue;
    yield entry;
    if (--remaining === 0) return;
  }
}
