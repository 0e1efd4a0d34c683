import { AbstractIterator, AbstractKeyIterator, AbstractValueIterator } from 'abstract-level';
import { Cursor, storeRange, type LevelRangeOptions, type ViewHandle } from './cursor.js';
import { type LevelData, type LevelFormat, levelKey, levelValue } from './key-codec.js';

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

/** `db.iterator()`: entries in order, decoded to the formats asked for. */
export class DurableIterator extends AbstractIterator<Db, LevelData, LevelData> {
  readonly #cursor: Cursor<Entry>;

  constructor(db: Db, options: LevelIteratorOptions) {
    super(db, options as never);
    const { keyEncoding, valueEncoding } = options;
    const wantKeys = options.keys !== false;
    const wantValues = options.values !== false;
    this.#cursor = new Cursor(db.viewFor(options), storeRange(options, false), (view, range) =>
      wantValues ? entriesOf(view.range(range), wantKeys, keyEncoding, valueEncoding) : keysOnly(view.keys(range), wantKeys, keyEncoding),
    );
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
}

/** `db.keys()`: keys only; values are never copied out of the store. */
export class DurableKeyIterator extends AbstractKeyIterator<Db, LevelData> {
  readonly #cursor: Cursor<LevelData>;

  constructor(db: Db, options: LevelIteratorOptions) {
    super(db, options as never);
    const { keyEncoding } = options;
    this.#cursor = new Cursor(db.viewFor(options), storeRange(options, false), (view, range) =>
      mapped(view.keys(range), (key) => levelKey(key, keyEncoding)),
    );
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
}

/** `db.values()`: values in key order. */
export class DurableValueIterator extends AbstractValueIterator<Db, LevelData, LevelData> {
  readonly #cursor: Cursor<LevelData>;

  constructor(db: Db, options: LevelIteratorOptions) {
    super(db, options as never);
    const { valueEncoding } = options;
    this.#cursor = new Cursor(db.viewFor(options), storeRange(options, false), (view, range) =>
      mapped(view.values(range), (value) => levelValue(value, valueEncoding)),
    );
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
}

function* entriesOf(
  entries: IterableIterator<[string, Uint8Array]>,
  wantKeys: boolean,
  keyFormat: LevelFormat,
  valueFormat: LevelFormat,
): IterableIterator<Entry> {
  for (const [key, value] of entries) yield [wantKeys ? levelKey(key, keyFormat) : undefined, levelValue(value, valueFormat)];
}

function* keysOnly(keys: IterableIterator<string>, wantKeys: boolean, keyFormat: LevelFormat): IterableIterator<Entry> {
  for (const key of keys) yield [wantKeys ? levelKey(key, keyFormat) : undefined, undefined];
}

function* mapped<A, B>(items: IterableIterator<A>, map: (item: A) => B): IterableIterator<B> {
  for (const item of items) yield map(item);
}
