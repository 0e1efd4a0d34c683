/**
 * The options of conditional and expiring writes, checked at the call: a bad one is
 * ERR_INVALID_ARG before anything is queued.
 */
import { InvalidArgumentError } from './errors.js';
import { describe } from './codec.js';
import type { WriteCheck } from './types.js';

/** When a key expires: relative (`ttlMs`) or absolute (`expiresAt`, epoch ms); not both. */
export interface TtlOptions {
  /** Milliseconds from now: a positive integer. */
  ttlMs?: number;
  /** Wall-clock epoch ms. */
  expiresAt?: number;
}

export interface PutOptions extends TtlOptions {
  /** Write only if the key's version (see `getEntry`) is this. */
  ifVersion?: number;
  /** Write only if the key does not exist (an expired key does not). */
  ifAbsent?: boolean;
  /** Keep the key's current expiry (a put without TTL options otherwise clears it). */
  keepTtl?: boolean;
}

export interface DeleteOptions {
  /** Delete only if the key's version is this. */
  ifVersion?: number;
}

/** What an expiry option came to: `expiresAt` 0 means none; `keepTtl` keeps the key's. */
export interface Expiry {
  expiresAt: number;
  keepTtl: boolean;
}

const noExpiry: Expiry = { expiresAt: 0, keepTtl: false };

/** The expiry `options` ask for (`ttlMs` from the clock's now); `where` names the call in messages. */
export function expiryOf(options: TtlOptions & { keepTtl?: boolean }, clock: { now(): number }, where: string): Expiry {
  const { ttlMs, expiresAt, keepTtl } = options;
  if (keepTtl !== undefined && typeof keepTtl !== 'boolean') throw new InvalidArgumentError(`${where}: keepTtl must be a boolean`);
  if (ttlMs !== undefined && expiresAt !== undefined) throw new InvalidArgumentError(`${where}: give ttlMs or expiresAt, not both`);
  if (keepTtl === true && (ttlMs !== undefined || expiresAt !== undefined)) {
    throw new InvalidArgumentError(`${where}: keepTtl keeps the expiry; it cannot also set one`);
  }
  if (ttlMs !== undefined) {
    if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0)
      throw new InvalidArgumentError(`${where}: ttlMs must be a positive integer, got ${show(ttlMs)}`);
    return { expiresAt: checkedEpoch(clock.now() + ttlMs, where), keepTtl: false };
  }
  if (expiresAt !== undefined) return { expiresAt: checkedEpoch(expiresAt, where), keepTtl: false };
  return keepTtl === true ? { expiresAt: 0, keepTtl: true } : noExpiry;
}

/** Epoch ms must be a positive safe integer: 0 is what the formats use for "none". */
function checkedEpoch(ms: unknown, where: string): number {
  if (!Number.isSafeInteger(ms) || (ms as number) <= 0) {
    throw new InvalidArgumentError(`${where}: expiresAt must be a positive integer of epoch ms, got ${show(ms)}`);
  }
  return ms as number;
}

/** The checks of a put's or a delete's `ifVersion` / `ifAbsent`. */
export function checksOf(key: string, options: PutOptions | DeleteOptions, where: string): WriteCheck[] {
  const { ifVersion } = options;
  const ifAbsent = (options as PutOptions).ifAbsent;
  if (ifAbsent !== undefined && typeof ifAbsent !== 'boolean') throw new InvalidArgumentError(`${where}: ifAbsent must be a boolean`);
  if (ifVersion !== undefined && ifAbsent === true) throw new InvalidArgumentError(`${where}: ifVersion and ifAbsent cannot both hold`);
  if (ifVersion !== undefined) return [{ key, version: checkedVersion(ifVersion, where) }];
  return ifAbsent === true ? [{ key, absent: true }] : [];
}

/** A batch's `checks`: `{ key, version }` or `{ key, absent: true }`. */
export function batchChecksOf(checks: unknown, keyOk: (key: unknown) => string): WriteCheck[] {
  if (checks === undefined) return [];
  if (!Array.isArray(checks)) throw new InvalidArgumentError(`batch: checks must be an array, got ${describe(checks)}`);
  return Array.from(checks, (check: unknown, index) => {
    const where = `batch: checks[${index}]`;
    if (typeof check !== 'object' || check === null)
      throw new InvalidArgumentError(`${where} must be { key, version } or { key, absent: true }`);
    const { key, version, absent } = check as { key?: unknown; version?: unknown; absent?: unknown };
    const checkedKey = keyOk(key);
    if (absent === true && version === undefined) return { key: checkedKey, absent: true };
    if (absent === undefined && version !== undefined) return { key: checkedKey, version: checkedVersion(version, where) };
    throw new InvalidArgumentError(`${where} must be { key, version } or { key, absent: true }`);
  });
}

function checkedVersion(version: unknown, where: string): number {
  if (!Number.isSafeInteger(version) || (version as number) < 1) {
    throw new InvalidArgumentError(`${where}: a version is a positive integer (a seq), got ${show(version)}`);
  }
  return version as number;
}

/** The option names each call takes: any other is refused, so a typo (`ifversion`) never turns a conditional write into a plain one. */
export const optionNames = {
  put: ['ifVersion', 'ifAbsent', 'ttlMs', 'expiresAt', 'keepTtl'],
  delete: ['ifVersion'],
  batch: ['checks'],
  increment: ['ttlMs', 'expiresAt'],
  expire: ['ttlMs', 'expiresAt'],
} as const;

/** An options argument: undefined, or an object with only the names `where` takes. */
export function optionsObject<T extends object>(options: unknown, where: keyof typeof optionNames): T {
  if (options === undefined) return {} as T;
  if (typeof options !== 'object' || options === null)
    throw new InvalidArgumentError(`${where}: options must be an object, got ${describe(options)}`);
  const known: readonly string[] = optionNames[where];
  for (const name in options) {
    if (!known.includes(name))
      throw new InvalidArgumentError(`${where}: unknown option ${JSON.stringify(name)} (it takes ${known.join(', ')})`);
  }
  return options as T;
}

/** A batch op's own fields: any other is refused, as for options. */
export function checkBatchOpFields(operation: object, where: string): void {
  const type = (operation as { type?: unknown }).type;
  const known = type === 'put' ? batchPutFields : type === 'increment' ? batchIncrementFields : batchDeleteFields;
  for (const name of Object.keys(operation)) {
    if (!known.includes(name)) throw new InvalidArgumentError(`${where}: unknown field ${JSON.stringify(name)} for a ${String(type)}`);
  }
}
const batchPutFields: readonly string[] = ['type', 'key', 'value', 'ttlMs', 'expiresAt', 'keepTtl'];
const batchIncrementFields: readonly string[] = ['type', 'key', 'delta'];
const batchDeleteFields: readonly string[] = ['type', 'key'];

function show(value: unknown): string {
  return typeof value === 'number' ? String(value) : describe(value);
}
