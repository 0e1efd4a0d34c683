/**
 * What EXEC runs a transaction's commands against: the store as it is now, with the transaction's
 * own writes laid over it. The commands are the ordinary handlers; they see this in place of the
 * store (the subset of its API they use). Every write is recorded as a batch operation, and every
 * key read from the store is remembered with the version it had, so that the whole transaction
 * commits as **one batch whose checks are those versions** (and the WATCHed ones): if another
 * client wrote any of them in between, nothing is written and EXEC runs the transaction again
 * (or, for a WATCHed key, answers null, as Redis does).
 *
 * The commands run in one synchronous stretch of microtasks (every promise here is already
 * settled), so the store cannot change under them while they run.
 */
import { Buffer } from 'node:buffer';
import { InvalidArgumentError, NotANumberError } from '../errors.js';
import type { Entry } from '../read-view.js';
import type { BatchOperation, BatchOptions, StoreSettings } from '../store.js';
import type { WriteResult } from '../types.js';
import type { PutOptions } from '../write-options.js';

type Check = { key: string; version: number } | { key: string; absent: true };
type Condition = { ifVersion?: number; ifAbsent?: boolean };

/** The store's API as the command handlers use it; `DurableKVStore<string>` and `TransactionView` both fit. */
export interface CommandStore {
  readonly settings: StoreSettings;
  get(key: string): string | undefined;
  has(key: string): boolean;
  getEntry(key: string): Entry<string> | undefined;
  put(key: string, value: string, options?: PutOptions): Promise<WriteResult>;
  delete(key: string, options?: { ifVersion?: number }): Promise<WriteResult>;
  batch(operations: ReadonlyArray<BatchOperation<string>>, options?: BatchOptions): Promise<WriteResult>;
  increment(key: string, delta?: number): Promise<number>;
  expire(key: string, expiry: { expiresAt: number } | null): Promise<WriteResult>;
}

/** Versions the view gives its own writes: below any real one (seqs start at 1), so never confused with the store's. */
let viewVersion = 0;

export class TransactionView implements CommandStore {
  readonly #store: CommandStore;
  /** The transaction's writes: an entry, or null for deleted. */
  readonly #written = new Map<string, Entry<string> | null>();
  /** Keys read from the store, with the version seen (0: absent): the batch's checks. */
  readonly #read = new Map<string, number>();
  readonly #operations: Array<BatchOperation<string>> = [];

  constructor(store: CommandStore) {
    this.#store = store;
  }

  get settings(): StoreSettings {
    return this.#store.settings;
  }

  /** The writes, as one batch, and the checks that make it atomic. */
  commit(): { operations: Array<BatchOperation<string>>; checks: Check[] } {
    const checks = [...this.#read].map(([key, version]): Check => (version === 0 ? { key, absent: true } : { key, version }));
    return { operations: this.#operations, checks };
  }

  getEntry(key: string): Entry<string> | undefined {
    const written = this.#written.get(key);
    if (written !== undefined) return written === null || expired(written) ? undefined : written;
    const entry = this.#store.getEntry(key);
    if (!this.#read.has(key)) this.#read.set(key, entry?.version ?? 0);
    return entry;
  }

  get(key: string): string | undefined {
    return this.getEntry(key)?.value;
  }

  has(key: string): boolean {
    return this.getEntry(key) !== undefined;
  }

  put(key: string, value: string, options: PutOptions = {}): Promise<WriteResult> {
    // The store checks these only when the batch commits, which would fail every command of the
    // transaction: refused here, the one command answers its error and the others commit.
    const keyBytes = Buffer.byteLength(key, 'utf8');
    const valueBytes = Buffer.byteLength(value, 'utf8');
    const { keyBytesMax, valueBytesMax } = this.#store.settings;
    if (keyBytes > keyBytesMax)
      return Promise.reject(new InvalidArgumentError(`key is ${keyBytes} bytes, over keyBytesMax (${keyBytesMax})`));
    if (valueBytes > valueBytesMax)
      return Promise.reject(new InvalidArgumentError(`value is ${valueBytes} bytes, over valueBytesMax (${valueBytesMax})`));
    const entry = this.getEntry(key);
    if (!holds(entry, options)) return Promise.resolve({ ok: false, conflicts: [key] });
    const expiresAt = options.keepTtl ? (entry?.expiresAt ?? null) : expiryOf(options);
    this.#written.set(key, { value, version: --viewVersion, expiresAt });
    this.#operations.push({ type: 'put', key, value, ...(expiresAt === null ? {} : { expiresAt }) });
    return Promise.resolve({ ok: true, seq: 0 });
  }

  delete(key: string, options: { ifVersion?: number } = {}): Promise<WriteResult> {
    const entry = this.getEntry(key);
    if (!holds(entry, options)) return Promise.resolve({ ok: false, conflicts: [key] });
    this.#written.set(key, null);
    this.#operations.push({ type: 'delete', key });
    return Promise.resolve({ ok: true, seq: 0 });
  }

  async batch(operations: ReadonlyArray<BatchOperation<string>>, options: BatchOptions = {}): Promise<WriteResult> {
    for (const check of options.checks ?? []) {
      const entry = this.getEntry(check.key);
      const ok = 'absent' in check ? entry === undefined : entry?.version === check.version;
      if (!ok) return { ok: false, conflicts: [check.key] };
    }
    for (const operation of operations) {
      if (operation.type === 'put') await this.put(operation.key, operation.value, operation);
      else if (operation.type === 'delete') await this.delete(operation.key);
      else await this.increment(operation.key, operation.delta);
    }
    return { ok: true, seq: 0 };
  }

  expire(key: string, expiry: { expiresAt: number } | null): Promise<WriteResult> {
    const entry = this.getEntry(key);
    if (entry === undefined) return Promise.resolve({ ok: false, conflicts: [key] });
    return this.put(key, entry.value, expiry ?? {});
  }

  increment(key: string, delta = 1): Promise<number> {
    const entry = this.getEntry(key);
    const current = entry === undefined ? 0 : decimalInteger(entry.value);
    const next = current === undefined ? undefined : current + delta;
    if (next === undefined || !Number.isSafeInteger(next)) {
      return Promise.reject(
        new NotANumberError(key, `increment: the value of "${key}" is not a decimal integer, or the result is beyond ±(2^53 − 1)`),
      );
    }
    return this.put(key, String(next), { keepTtl: true }).then(() => next);
  }
}

function holds(entry: Entry<string> | undefined, condition: Condition): boolean {
  if (condition.ifAbsent === true) return entry === undefined;
  if (condition.ifVersion !== undefined) return entry?.version === condition.ifVersion;
  return true;
}

function expiryOf(options: PutOptions): number | null {
  if (options.expiresAt !== undefined) return options.expiresAt;
  if (options.ttlMs !== undefined) return Date.now() + options.ttlMs;
  return null;
}

function expired(entry: Entry<string>): boolean {
  return entry.expiresAt !== null && entry.expiresAt <= Date.now();
}

function decimalInteger(text: string): number | undefined {
  if (!/^(0|-?[1-9][0-9]{0,15})$/.test(text)) return undefined;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : undefined;
}
