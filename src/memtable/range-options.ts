import type { KeyRange, RangeOptions } from '../types.js';
import { compareKeys } from './key-order.js';

export type { KeyRange, RangeOptions } from '../types.js';

const optionNames: ReadonlySet<string> = new Set(['gt', 'gte', 'lt', 'lte', 'prefix', 'reverse', 'limit']);
const keyOptions = ['gt', 'gte', 'lt', 'lte', 'prefix'] as const;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `a string`;
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${String(value)}`;
  return typeof value;
}

/** Why `options` is not valid range options, or undefined when it is. */
export function rangeOptionsProblem(options: unknown): string | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    return `range options must be an object, got ${describe(options)}`;
  }
  const record = options as Record<string, unknown>;
  for (const name of Object.keys(record)) {
    if (!optionNames.has(name)) return `unknown range option '${name}' (expected gt, gte, lt, lte, prefix, reverse, limit)`;
  }
  for (const name of keyOptions) {
    const value = record[name];
    if (value === undefined) continue;
    if (typeof value !== 'string') return `range option '${name}' must be a string, got ${describe(value)}`;
    if (!value.isWellFormed()) return `range option '${name}' is not well-formed Unicode (it has a lone surrogate)`;
  }
  if (record.gt !== undefined && record.gte !== undefined) return "range options 'gt' and 'gte' must not both be given";
  if (record.lt !== undefined && record.lte !== undefined) return "range options 'lt' and 'lte' must not both be given";
  const reverse = record.reverse;
  if (reverse !== undefined && typeof reverse !== 'boolean') return `range option 'reverse' must be a boolean, got ${describe(reverse)}`;
  const limit = record.limit;
  if (limit !== undefined && limit !== Number.POSITIVE_INFINITY && !(Number.isSafeInteger(limit) && (limit as number) >= 0)) {
    return `range option 'limit' must be a non-negative integer or Infinity, got ${describe(limit)}`;
  }
  return undefined;
}

/** Checks and normalises range options; throws a TypeError with the problem. */
export function normalizeRange(options?: RangeOptions): KeyRange {
  const problem = rangeOptionsProblem(options);
  if (problem !== undefined) throw new TypeError(problem);
  const { gt, gte, lt, lte, prefix = '', reverse = false, limit = Number.POSITIVE_INFINITY } = options ?? {};
  let lower = gte ?? gt;
  let lowerInclusive = gt === undefined;
  // The prefix is also a lower bound (inclusive); keep whichever is higher.
  if (prefix !== '' && (lower === undefined || compareKeys(prefix, lower) > 0)) {
    lower = prefix;
    lowerInclusive = true;
  }
  const upper = lte ?? lt;
  const upperInclusive = lt === undefined;
  return { lower, lowerInclusive, upper, upperInclusive, prefix, reverse, limit };
}

/** Whether `key` lies within the range's bounds and prefix (ignoring direction and limit). */
export function inRange(range: KeyRange, key: string): boolean {
  if (range.lower !== undefined) {
    const c = compareKeys(key, range.lower);
    if (c < 0 || (c === 0 && !range.lowerInclusive)) return false;
  }
  if (range.upper !== undefined) {
    const c = compareKeys(key, range.upper);
    if (c > 0 || (c === 0 && !range.upperInclusive)) return false;
  }
  return key.startsWith(range.prefix);
}
