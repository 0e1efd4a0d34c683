/**
 * Turns a write that depends on the state (checks, increments, keepTtl, expire, active expiry)
 * into the effects the WAL records, against the state every write sequenced before it made.
 *
 * It runs when the WAL actor sequences the write, so of racing compare-and-sets exactly one sees
 * the version it expects; the WAL then holds only effects (puts with absolute expiry times,
 * deletes), and replaying a record never needs a clock or a condition. All or nothing: a failed
 * check or a value that is not a number resolves to no ops at all.
 */
import { NotANumberError } from '../errors.js';
import type { EncodableOp, IntentOp, StoredEntry, StoredValue, WriteIntent } from '../types.js';
import { isExpired } from './expiry.js';

/** What a write resolved to. */
export type Resolution =
  | { ok: true; ops: EncodableOp[] /** An increment's new value. */; value?: number }
  | { ok: false; conflicts: string[] }
  | { ok: false; error: NotANumberError };

/** The state as sequenced so far: the memtable plus what is written and not yet applied. */
export type SequencedLookup = (key: string) => StoredEntry | undefined;

/** The largest magnitude an increment may reach (Number.MAX_SAFE_INTEGER). */
const incrementMagnitudeMax = Number.MAX_SAFE_INTEGER;
/** A decimal integer as Redis writes and accepts it: no sign but '-', no leading zeros, no spaces. */
const decimalInteger = /^(0|-?[1-9][0-9]{0,15})$/;

/**
 * Resolves `intent` against `lookup` at the time `now` gives (what "expired" means: the clock when
 * it is sequenced, read only if an entry has an expiry); `binary` says values are bytes (an
 * increment of a missing key then stores ASCII digits as bytes). The record it becomes will have
 * `seq`: every entry it writes gets that version.
 */
export function resolveIntent(intent: WriteIntent, lookup: SequencedLookup, seq: number, now: () => number, binary: boolean): Resolution {
  const clock = new LazyNow(now);
  const conflicts = failedChecks(intent.checks, lookup, clock);
  if (conflicts !== undefined) return { ok: false, conflicts };
  const intentOps = intent.ops;
  // The common conditional write: one put or delete whose checks held is its own effect.
  if (intentOps.length === 1 && isEffect(intentOps[0])) return { ok: true, ops: intentOps as EncodableOp[] };
  // Later ops of one write see the earlier ones: a map of what it wrote, only when it has several.
  const written = intentOps.length > 1 ? new Map<string, StoredEntry | undefined>() : undefined;
  const ops: EncodableOp[] = [];
  let value: number | undefined;
  for (let index = 0; index < intentOps.length; index++) {
    const op = intentOps[index];
    const before = written?.has(op.key) ? written.get(op.key) : lookup(op.key);
    const effect = effectOf(op, before, clock.live(before), binary);
    if (effect === undefined) continue;
    if ('error' in effect) return { ok: false, error: effect.error };
    if ('conflict' in effect) return { ok: false, conflicts: [op.key] };
    ops.push(effect.op);
    if (effect.value !== undefined) value = effect.value;
    written?.set(op.key, entryAfter(effect.op, before, seq));
  }
  return value === undefined ? { ok: true, ops } : { ok: true, ops, value };
}

function isEffect(op: IntentOp): op is Extract<IntentOp, EncodableOp> {
  return op.type === 'put' || op.type === 'delete';
}

/** The clock, read once and only if an entry has an expiry: most writes never need it. */
class LazyNow {
  readonly #now: () => number;
  #ms = 0;

  constructor(now: () => number) {
    this.#now = now;
  }

  /** The entry if it exists now (an expired one does not). */
  live(entry: StoredEntry | undefined): StoredEntry | undefined {
    if (entry === undefined || entry.expiresAt === 0) return entry;
    if (this.#ms === 0) this.#ms = this.#now();
    return isExpired(entry.expiresAt, this.#ms) ? undefined : entry;
  }
}

/** The keys whose checks fail, in order and once each, or undefined when all hold. */
function failedChecks(checks: WriteIntent['checks'], lookup: SequencedLookup, clock: LazyNow): string[] | undefined {
  let conflicts: string[] | undefined;
  for (let index = 0; index < checks.length; index++) {
    const check = checks[index];
    const entry = clock.live(lookup(check.key));
    const passes = 'absent' in check ? entry === undefined : entry !== undefined && entry.version === check.version;
    if (passes) continue;
    conflicts ??= [];
    if (!conflicts.includes(check.key)) conflicts.push(check.key);
  }
  return conflicts;
}

type Effect = { op: EncodableOp; value?: number } | { error: NotANumberError } | { conflict: true };

/**
 * The effect of one op on a key stored as `before`, whose live entry is `entry` (undefined when it
 * is missing or expired), or undefined when the op does nothing.
 */
function effectOf(op: IntentOp, before: StoredEntry | undefined, entry: StoredEntry | undefined, binary: boolean): Effect | undefined {
  switch (op.type) {
    case 'putKeepTtl': {
      const { key, keyBytes, value, valueBytes } = op;
      return { op: { type: 'put', key, keyBytes, value, valueBytes, expiresAt: entry?.expiresAt ?? 0 } };
    }
    case 'increment':
      return incremented(op, entry, binary);
    case 'expireExisting':
      if (entry === undefined) return { conflict: true };
      return { op: { type: 'expire', key: op.key, keyBytes: op.keyBytes, expiresAt: op.expiresAt } };
    case 'deleteIfExpired':
      // Only the entry active expiry saw expire: a write since then made a new version.
      if (before === undefined || entry !== undefined || before.version !== op.version) return undefined;
      return { op: { type: 'delete', key: op.key, keyBytes: op.keyBytes, expired: true } };
    default:
      return { op };
  }
}

function incremented(op: Extract<IntentOp, { type: 'increment' }>, entry: StoredEntry | undefined, binary: boolean): Effect {
  const current = entry === undefined ? 0 : integerOf(entry.value);
  if (current === undefined) {
    return { error: new NotANumberError(op.key, `increment: the value of "${op.key}" is not a decimal integer`) };
  }
  const next = current + op.delta;
  if (!Number.isSafeInteger(next) || Math.abs(next) > incrementMagnitudeMax) {
    return { error: new NotANumberError(op.key, `increment: ${current} + ${op.delta} is beyond ±(2^53 − 1)`) };
  }
  const text = String(next);
  const value: StoredValue = binary || (entry !== undefined && typeof entry.value !== 'string') ? Buffer.from(text, 'latin1') : text;
  const expiresAt = op.expiresAt ?? entry?.expiresAt ?? 0;
  return { op: { type: 'put', key: op.key, keyBytes: op.keyBytes, value, valueBytes: text.length, expiresAt }, value: next };
}

/** The stored value as a safe integer, if it is one written in decimal. */
export function integerOf(value: StoredValue): number | undefined {
  if (value.length > 17) return undefined;
  const text = typeof value === 'string' ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('latin1');
  if (!decimalInteger.test(text)) return undefined;
  const number = Number(text);
  return Number.isSafeInteger(number) ? number : undefined;
}

/** The entry an effect leaves, for later ops of the same write (undefined: deleted). */
function entryAfter(op: EncodableOp, before: StoredEntry | undefined, seq: number): StoredEntry | undefined {
  switch (op.type) {
    case 'put':
      return { value: op.value, version: seq, expiresAt: op.expiresAt };
    case 'expire':
      return before === undefined ? undefined : { value: before.value, version: seq, expiresAt: op.expiresAt };
    default:
      return undefined;
  }
}
