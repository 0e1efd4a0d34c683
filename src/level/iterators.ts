import type { ReadView } from '../read-view.js';
import { AbstractIterator, AbstractKeyIterator, AbstractValueIterator } from 'abstract-level';
import { Cursor, storeRange, type LevelRangeOptions, type ViewHandle } from './cursor.js';
import { type LevelData, levelKey, levelValue } from './key-codec.js';

/** What an iterator needs of its database: the view to walk (an explicit snapshot's, or a new one). */
export interface ViewSource {
  viewFor(options: { snapshot?: unknown }): ViewHandle;
}

export interface LevelIteratorOptions extends LevelRangeOptions {
  keys?: boolean;
  values?: boolean;
  snapshot?: unknown;
}

// abstract-level's classes are generic over the database and the key and value types; the adapter
// works in formats (strings and byte arrays) and abstract-level decodes them for the caller.
type Db = ViewSource & ConstructorParameters<typeof AbstractIterator>[0];
type Entry = [LevelData | undefined, LevelData | undefined];

/** `db.iterator()`: entries in order, in the formats asked for; keys or values left out when not wanted. */
export class DurableIterator extends AbstractIterator<Db, LevelData, LevelData> {
  readonly #cursor: Cursor<Entry>;

  constructor(db: Db, options: LevelIteratorOptions) {
    super(db, options as never);
    const { keyEncoding, valueEncoding } = options;
    const wantKeys = options.keys !== false;
    const wantValues = options.values !== false;
    // The common case gets its own function, and over a view whose keys are all ASCII, keys wanted
    // as text are themselves: no per-entry test of what is wanted or of each key's bytes.
    const entry = (key: string, value: string): Entry => [
      wantKeys ? levelKey(key, keyEncoding) : undefined,
      wantValues ? levelValue(value, valueEncoding) : undefined,
    ];
    const entryOf = (view: ReadView<string>) => {
      if (!wantKeys || !wantValues) return entry;
      if (keyEncoding === 'utf8' && view.asciiKeysOnly)
        return (key: string, value: string): Entry => [key, levelValue(value, valueEncoding)];
      return (key: string, value: string): Entry => [levelKey(key, keyEncoding), levelValue(value, valueEncoding)];
    };
    this.#cursor = new Cursor(db.viewFor(options), storeRange(options, false), (view, range) => view.mapped(range, entryOf(view)));
  }

  async _next(): Promise<Entry | undefined> {
    return this.#cursor.next();
  }

  async _nextv(size: number): Promise<Entry[]> {
    return this.#cursor.take(size);
  }

  async _all(): Promise<Entry[]> {
    return this.#cursor.take(this.limit - this.count);
  }

  _seek(target: LevelData): void {
    this.#cursor.seek(target);
  }

  async _close(): Promise<void> {
    this.#cursor.release();
  }
}

/** `db.keys()`: keys only; values are never read. */
export class DurableKeyIterator extends AbstractKeyIterator<Db, LevelData> {
  readonly #cursor: Cursor<LevelData>;

  constructor(db: Db, options: LevelIteratorOptions) {
    super(db, options as never);
    const { keyEncoding } = options;
    const key = (stored: string): LevelData => levelKey(stored, keyEncoding);
    const asItself = (stored: string): LevelData => stored;
    const keyOf = (view: ReadView<string>) => (keyEncoding === 'utf8' && view.asciiKeysOnly ? asItself : key);
    this.#cursor = new Cursor(db.viewFor(options), storeRange(options, false), (view, range) => view.mapped(range, keyOf(view)));
  }

  async _next(): Promise<LevelData | undefined> {
    return this.#cursor.next();
  }

  async _nextv(size: number): Promise<LevelData[]> {
    return this.#cursor.take(size);
  }

  async _all(): Promise<LevelData[]> {
    return this.#cursor.take(this.limit - this.count);
  }

  _seek(target: LevelData): void {
    this.#cursor.seek(target);
  }

  async _close(): Promise<void> {
    this.#cursor.release();
  }
}

/** `db.values()`: values in key order. */
export class DurableValueIterator extends AbstractValueIterator<Db, LevelData, LevelData> {
  readonly #cursor: Cursor<LevelData>;

  constructor(db: Db, options: LevelIteratorOptions) {
    super(db, options as never);
    const { valueEncoding } = options;
    const value = (_key: string, stored: string): LevelData => levelValue(stored, valueEncoding);
    this.#cursor = new Cursor(db.viewFor(options), storeRange(options, false), (view, range) => view.mapped(range, value));
  }

  async _next(): Promise<LevelData | undefined> {
    return this.#cursor.next();
  }

  async _nextv(size: number): Promise<LevelData[]> {
    return this.#cursor.take(size);
  }

  async _all(): Promise<LevelData[]> {
    return this.#cursor.take(this.limit - this.count);
  }

  _seek(target: LevelData): void {
    this.#cursor.seek(target);
  }

  async _close(): Promise<void> {
    this.#cursor.release();
  }
}
