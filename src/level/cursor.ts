import type { ReadView } from '../read-view.js';
import type { RangeOptions } from '../store.js';
import { type LevelData, type LevelFormat, storeKey } from './key-codec.js';

/** The view a cursor walks, got when first needed (an implicit snapshot's is taken when the iterator is made). */
export type ViewHandle = () => ReadView<Uint8Array>;

/** The range options abstract-level hands an iterator or clear(), keys already in the key format. */
export interface LevelRangeOptions {
  gt?: LevelData;
  gte?: LevelData;
  lt?: LevelData;
  lte?: LevelData;
  reverse?: boolean;
  /** -1 (or absent): no limit. */
  limit?: number;
  keyEncoding: LevelFormat;
  valueEncoding: LevelFormat;
}

/** The store's range for Level range options (bounds as store keys; `limit` -1 → none). */
export function storeRange(options: LevelRangeOptions, withLimit: boolean): RangeOptions {
  const range: RangeOptions = { reverse: options.reverse === true };
  // Level allows both bounds of a side, and the inclusive one wins (abstract-level's range tests); the
  // store takes one per side.
  if (options.gte !== undefined) range.gte = storeKey(options.gte);
  else if (options.gt !== undefined) range.gt = storeKey(options.gt);
  if (options.lte !== undefined) range.lte = storeKey(options.lte);
  else if (options.lt !== undefined) range.lt = storeKey(options.lt);
  if (withLimit && options.limit !== undefined && options.limit >= 0) range.limit = options.limit;
  return range;
}

/**
 * A walk over one frozen view of the store: the view an explicit snapshot holds, or one taken when
 * the iterator was made (its implicit snapshot). `seek` walks the same view again from the target,
 * so the iterator sees one moment of the store however it moves. The Level limit is counted by
 * abstract-level, across seeks, so the walk itself has none.
 */
export class Cursor<T> {
  readonly #view: ViewHandle;
  readonly #range: RangeOptions;
  readonly #walk: (view: ReadView<Uint8Array>, range: RangeOptions) => IterableIterator<T>;
  /** Started at the first read, so a closed explicit snapshot is refused there, by abstract-level. */
  #entries: IterableIterator<T> | undefined;

  constructor(view: ViewHandle, range: RangeOptions, walk: (view: ReadView<Uint8Array>, range: RangeOptions) => IterableIterator<T>) {
    this.#view = view;
    this.#range = range;
    this.#walk = walk;
  }

  /** The next item, or undefined at the end. */
  next(): T | undefined {
    const step = this.#started().next();
    return step.done === true ? undefined : step.value;
  }

  /** Up to `size` items, fewer only at the end. */
  take(size: number): T[] {
    const entries = this.#started();
    const items: T[] = [];
    while (items.length < size) {
      const step = entries.next();
      if (step.done === true) break;
      items.push(step.value);
    }
    return items;
  }

  /**
   * Moves to the first key at or after `target` (at or before it, in reverse). A target outside the
   * range ends the walk, as abstract-level specifies (memory-level and classic-level do the same);
   * inside it, the target becomes the near bound. Store keys hold one character per byte, so `<`
   * compares them in byte order.
   */
  seek(target: LevelData): void {
    const key = storeKey(target);
    if (outOfRange(key, this.#range)) {
      this.#entries = [].values();
      return;
    }
    const range = { ...this.#range };
    if (range.reverse === true) {
      delete range.lt;
      range.lte = key;
    } else {
      delete range.gt;
      range.gte = key;
    }
    this.#entries = this.#walk(this.#view(), range);
  }

  #started(): IterableIterator<T> {
    this.#entries ??= this.#walk(this.#view(), this.#range);
    return this.#entries;
  }
}

function outOfRange(key: string, range: RangeOptions): boolean {
  const { gt, gte, lt, lte } = range;
  return (
    (gt !== undefined && key <= gt) ||
    (gte !== undefined && key < gte) ||
    (lt !== undefined && key >= lt) ||
    (lte !== undefined && key > lte)
  );
}
