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
  readonly #cursor: Cursor<[string, string], Entry> | Cursor<string, Entry>;

  constructor(db: Db, options: LevelIteratorOptions) {
    super(db, options as never);
    const { keyEncoding, valueEncoding } = options;
    const view = db.viewFor(options);
    const range = storeRange(options, false);
    const wantKeys = options.keys !== false;
    if (options.values === false) {
      this.#cursor = new Cursor(
        view,
        range,
        (v, r) => v.keys(r),
        (key: string): Entry => [wantKeys ? levelKey(key, keyEncoding) : undefined, undefined],
      );
    } else if (wantKeys) {
      this.#cursor = new Cursor(
        view,
        range,
        (v, r) => v.range(r),
        ([key, value]: [string, string]): Entry => [levelKey(key, keyEncoding), levelValue(value, valueEncoding)],
      );
    } else {
      this.#cursor = new Cursor(
        view,
        range,
        (v, r) => v.range(r),
        ([, value]: [string, string]): Entry => [undefined, levelValue(value, valueEncoding)],
      );
    }
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
  readonly #cursor: Cursor<string, LevelData>;

  constructor(db: Db, options: LevelIteratorOptions) {
    super(db, options as never);
    const { keyEncoding } = options;
    this.#cursor = new Cursor(
      db.viewFor(options),
      storeRange(options, false),
      (v, r) => v.keys(r),
      (key: string) => levelKey(key, keyEncoding),
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

  async _close(): Promise<void> {
    this.#cursor.release();
  }
}

/** `db.values()`: values in key order. */
export class DurableValueIterator extends AbstractValueIterator<Db, LevelData, LevelData> {
  readonly #cursor: Cursor<string, LevelData>;

  constructor(db: Db, options: LevelIteratorOptions) {
    super(db, options as never);
    const { valueEncoding } = options;
    this.#cursor = new Cursor(
      db.viewFor(options),
      storeRange(options, false),
      (v, r) => v.values(r),
      (value: string) => levelValue(value, valueEncoding),
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

  async _close(): Promise<void> {
    this.#cursor.release();
  }
}
