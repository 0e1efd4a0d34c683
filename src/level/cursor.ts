import type { ReadView } from '../read-view.js';
import type { RangeOptions } from '../store.js';
import { type LevelData, type LevelFormat, storeKey } from './key-codec.js';

/** The view a cursor walks, got when first needed (an implicit snapshot's is taken when the iterator is made). */
export type ViewHandle = () => ReadView<string>;

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

/** What a cursor walks: a view's range, each entry made into the item abstract-level expects. */
export type Walk<T> = (view: ReadView<string>, range: RangeOptions) => IterableIterator<T>;

/**
 * A walk over one frozen view of the store: the view an explicit snapshot holds, or one taken when
 * the iterator was made (its implicit snapshot). `seek` walks the same view again from the target,
 * so the iterator sees one moment of the store however it moves. The Level limit is counted by
 * abstract-level, across seeks, so the walk itself has none. The walk makes each item as it goes
 * (`ReadView.mapped`), so a batch costs one generator step per item and no pair in between.
 */
export class Cursor<T> {
  #view: ViewHandle | undefined;
  readonly #range: RangeOptions;
  readonly #walk: Walk<T>;
  /** Where the next walk starts: the range, or a seek's; 'end' after a seek outside the range. */
  #from: RangeOptions | 'end';
  /**
   * Started at the first read after creation or a seek, so a closed explicit snapshot is refused
   * there, by abstract-level (its read refuses a closed snapshot before reaching here).
   */
  #items: IterableIterator<T> | undefined;

  constructor(view: ViewHandle, range: RangeOptions, walk: Walk<T>) {
    this.#view = view;
    this.#range = range;
    this.#from = range;
    this.#walk = walk;
  }

  /** The next item, or undefined at the end. */
  next(): T | undefined {
    const step = this.#started().next();
    return step.done === true ? undefined : step.value;
  }

  /** Up to `size` items, fewer only at the end. */
  take(size: number): T[] {
    const items = this.#started();
    const taken: T[] = [];
    while (taken.length < size) {
      const step = items.next();
      if (step.done === true) break;
      taken.push(step.value);
    }
    return taken;
  }

  /**
   * Moves to the first key at or after `target` (at or before it, in reverse), from the next read.
   * A target outside the range ends the walk, as abstract-level specifies (memory-level and
   * classic-level do the same); inside it, the target becomes the near bound. Store keys hold one
   * character per byte, so `<` compares them in byte order.
   */
  seek(target: LevelData): void {
    const key = storeKey(target);
    this.#items = undefined;
    if (outOfRange(key, this.#range)) {
      this.#from = 'end';
      return;
    }
    const from = { ...this.#range };
    if (from.reverse === true) {
      delete from.lt;
      from.lte = key;
    } else {
      delete from.gt;
      from.gte = key;
    }
    this.#from = from;
  }

  /** Lets go of the view (the iterator is closed), so the entries only it holds can be collected. */
  release(): void {
    this.#view = undefined;
    this.#items = [].values();
  }

  #started(): IterableIterator<T> {
    if (this.#items !== undefined) return this.#items;
    const view = this.#view;
    this.#items = view === undefined || this.#from === 'end' ? [].values() : this.#walk(view(), this.#from);
    return this.#items;
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
