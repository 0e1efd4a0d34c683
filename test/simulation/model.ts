/**
 * The reference model: what the store may hold after a crash, and what it must serve meanwhile.
 *
 * Every write goes into the WAL in the order it was issued and is acknowledged in that order, so
 * after recovery the store must hold the last verified state plus a *prefix* of the writes issued
 * since — at least every acknowledged one, and possibly some of those in flight or rejected (an
 * unacknowledged write may or may not have landed). That one rule covers the per-key checks:
 * (a) no acknowledged write lost, (b) nothing that was never written, (c) batches all-or-none,
 * (d) no garbled value. When it fails, `diagnose` says which of those it was.
 */
import { writeIdOf, type BatchEntry, type SimRange } from './ops.js';

export type WriteStatus = 'pending' | 'acked' | 'rejected';

export interface ModelWrite {
  /** Position in issue order (= WAL order) since the last verified recovery. */
  index: number;
  kind: 'put' | 'delete' | 'batch' | 'deleteRange';
  entries: BatchEntry[];
  status: WriteStatus;
  error?: unknown;
}

export class SimulationFailure extends Error {
  readonly kind: string;
  constructor(kind: string, message: string) {
    super(`${kind}: ${message}`);
    this.kind = kind;
  }
}

export class Model {
  /** The state the last recovery was verified to hold. */
  #durable = new Map<string, string>();
  #writes: ModelWrite[] = [];
  #ackedPrefix = 0;
  /** Acknowledged writes folded into the durable state by `forget`, not yet checked by a recovery. */
  #ackedBeforeForget = 0;
  /** Bumped at every crash and rebase: callbacks of writes from before are stale. */
  #generation = 0;
  /** Every value ever issued, by value: the write id and key it was written under. */
  readonly #issuedValues = new Map<string, string>();
  /** Broken rules seen in callbacks (which cannot throw usefully); checked between steps. */
  readonly violations: SimulationFailure[] = [];
  ackedTotal = 0;

  get writes(): readonly ModelWrite[] {
    return this.#writes;
  }

  get ackedPrefix(): number {
    return this.#ackedPrefix;
  }

  get pending(): number {
    return this.#writes.filter((write) => write.status === 'pending').length;
  }

  /** Records a write the store accepted for processing; returns callbacks for its promise. */
  issue(kind: ModelWrite['kind'], entries: BatchEntry[]): { ack: () => void; reject: (error: unknown) => void } {
    for (const entry of entries) if (entry.value !== undefined) this.#issuedValues.set(entry.value, entry.key);
    const write: ModelWrite = { index: this.#writes.length, kind, entries, status: 'pending' };
    this.#writes.push(write);
    const generation = this.#generation;
    return {
      ack: () => {
        if (generation !== this.#generation) return;
        if (write.index !== this.#ackedPrefix) {
          const before = this.#writes[this.#ackedPrefix];
          this.violations.push(
            new SimulationFailure('ack-order', `write ${write.index} acknowledged while write ${before.index} is ${before.status}`),
          );
        }
        write.status = 'acked';
        this.#ackedPrefix = Math.max(this.#ackedPrefix, write.index + 1);
        this.ackedTotal++;
      },
      reject: (error) => {
        if (generation !== this.#generation) return;
        write.status = 'rejected';
        write.error = error;
        const code = (error as { code?: unknown }).code;
        if (code !== 'ERR_STORE_FAILED') {
          this.violations.push(
            new SimulationFailure('bad-rejection', `write ${write.index} rejected with ${code ?? 'an untyped error'}: ${String(error)}`),
          );
        }
      },
    };
  }

  /** Records a value written while the store was failed: it must be refused and never appear. */
  noteRefused(entries: BatchEntry[]): void {
    for (const entry of entries) if (entry.value !== undefined) this.#issuedValues.set(entry.value, entry.key);
  }

  /** Power loss: from now on callbacks of the old store's writes are ignored. */
  crashed(): void {
    this.#generation++;
  }

  throwViolations(): void {
    const violation = this.violations.shift();
    if (violation !== undefined) throw violation;
  }

  /** The state after the first `count` writes since the last verified recovery. */
  stateAfter(count: number): Map<string, string> {
    const state = new Map(this.#durable);
    for (const write of this.#writes.slice(0, count)) apply(state, write.entries);
    return state;
  }

  /** Every key the model knows of (for reading back through `get`). */
  keys(): Set<string> {
    const keys = new Set(this.#durable.keys());
    for (const write of this.#writes) for (const entry of write.entries) keys.add(entry.key);
    return keys;
  }

  /**
   * Checks a recovered state: it must be the durable state plus a prefix of the writes since that
   * contains every acknowledged one. On success the recovered state becomes the new durable state.
   */
  verifyRecovered(recovered: Map<string, string>): { acked: number } {
    const acked = this.#ackedPrefix + this.#ackedBeforeForget;
    this.#ackedBeforeForget = 0;
    if (this.matchPrefix(recovered) === undefined) throw this.#diagnose(recovered);
    this.rebase(recovered);
    return { acked };
  }

  /**
   * How many writes (at least the acknowledged ones) `state` is the result of, or undefined if it
   * is no such prefix. Reads between steps must pass this too: a commit is applied a few microtasks
   * before its promise resolves, never out of order.
   */
  matchPrefix(state: ReadonlyMap<string, string>): number | undefined {
    const candidate = this.stateAfter(this.#ackedPrefix);
    for (let count = this.#ackedPrefix; ; count++) {
      if (sameState(candidate, state)) return count;
      if (count >= this.#writes.length) return undefined;
      apply(candidate, this.#writes[count].entries);
    }
  }

  /** The state once every write is settled (a clean close): every write acknowledged, else a failure. */
  settledState(): Map<string, string> {
    const unsettled = this.#writes.find((write) => write.status !== 'acked');
    if (unsettled !== undefined)
      throw new SimulationFailure('state', `write ${unsettled.index} is ${unsettled.status} after a clean close`);
    return this.stateAfter(this.#writes.length);
  }

  /** A salvage lost these keys, as reported: the model starts over from the settled state without them. */
  forget(keys: readonly string[]): void {
    const state = this.settledState();
    for (const key of keys) state.delete(key);
    // Those writes are checked by the next recovery, against the state without the lost keys.
    const acked = this.#ackedPrefix;
    this.rebase(state);
    this.#ackedBeforeForget += acked;
  }

  /** Starts over from a verified state. */
  rebase(state: Map<string, string>): void {
    this.#durable = new Map(state);
    this.#writes = [];
    this.#ackedPrefix = 0;
    this.#generation++;
  }

  #diagnose(recovered: Map<string, string>): SimulationFailure {
    const expected = this.stateAfter(this.#ackedPrefix);
    const lines: string[] = [];
    let kind = '';
    const note = (k: string, line: string) => {
      kind ||= k;
      lines.push(line);
    };
    const writtenValues = new Set<string>();
    for (const write of this.#writes) for (const entry of write.entries) if (entry.value !== undefined) writtenValues.add(entry.value);
    for (const value of this.#durable.values()) writtenValues.add(value);
    for (const line of this.#partialBatches(recovered)) note('partial-batch', line);
    for (const [key, value] of expected) {
      const got = recovered.get(key);
      if (got === value || (got !== undefined && this.#issuedValues.get(got) !== key)) continue;
      if (!this.#lostAckedWrite(key, value, got)) continue;
      const recoveredText = got === undefined ? 'nothing' : `#${writeIdOf(got)}`;
      if (this.#ackedWriteTouches(key))
        note('lost-acked-write', `key ${key}: acknowledged #${writeIdOf(value)}, recovered ${recoveredText}`);
      else note('lost-recovered-state', `key ${key}: the last open recovered and served #${writeIdOf(value)}, now ${recoveredText}`);
    }
    for (const key of recovered.keys()) {
      if (!expected.has(key) && !this.#someWriteLater(key, this.#ackedPrefix)) {
        note('resurrected', `key ${key} is present but was deleted (or never written) by an acknowledged write`);
      }
    }
    for (const [key, value] of recovered) {
      const writtenKey = this.#issuedValues.get(value);
      if (writtenKey === undefined) {
        const id = writeIdOf(value);
        note(
          'garbled',
          `key ${key} holds a value that was never written (${id === undefined ? 'unrecognisable' : `looks like write #${id}`}, ${value.length} chars)`,
        );
      } else if (writtenKey !== key) {
        note('garbled', `key ${key} holds the value written for key ${writtenKey}`);
      } else if (!writtenValues.has(value)) {
        note('never-written', `key ${key} holds #${writeIdOf(value)}, a write the store refused or one older than the last recovery`);
      }
    }
    if (lines.length === 0) note('not-a-prefix', 'the recovered state is not the durable state plus any prefix of the writes since');
    const acked = this.#ackedPrefix;
    const context = `(${this.#writes.length} writes since the last recovery, ${acked} acknowledged)`;
    return new SimulationFailure(kind, `${lines.join('; ')} ${context}`);
  }

  /** Whether `got` (for a key whose acknowledged value is `value`) can only be explained by loss. */
  #lostAckedWrite(key: string, value: string | undefined, got: string | undefined): boolean {
    // A later, unacknowledged write to the key may explain the difference.
    for (const write of this.#writes.slice(this.#ackedPrefix)) {
      for (const entry of write.entries) if (entry.key === key && entry.value === got) return false;
    }
    return value !== got;
  }

  #ackedWriteTouches(key: string): boolean {
    return this.#writes.slice(0, this.#ackedPrefix).some((write) => write.entries.some((entry) => entry.key === key));
  }

  #someWriteLater(key: string, from: number): boolean {
    return this.#writes.slice(from).some((write) => write.entries.some((entry) => entry.key === key));
  }

  /** Batches some of whose puts are visible as their own values and some not. */
  #partialBatches(recovered: Map<string, string>): string[] {
    const lines: string[] = [];
    for (const write of this.#writes) {
      if (write.kind !== 'batch') continue;
      const puts = lastPutPerKey(write.entries);
      const visible = puts.filter((entry) => recovered.get(entry.key) === entry.value);
      if (visible.length === 0 || visible.length === puts.length) continue;
      // A later write to the missing keys, if it landed, hides them legitimately.
      const hidden = puts.filter((entry) => recovered.get(entry.key) !== entry.value);
      if (hidden.every((entry) => this.#someWriteLater(entry.key, write.index + 1))) continue;
      lines.push(`batch write ${write.index} is partly visible (${visible.length} of ${puts.length} puts)`);
    }
    return lines;
  }
}

function apply(state: Map<string, string>, entries: readonly BatchEntry[]): void {
  for (const entry of entries) {
    if (entry.range !== undefined) for (const key of keysInRange(state, entry.range)) state.delete(key);
    else if (entry.value === undefined) state.delete(entry.key);
    else state.set(entry.key, entry.value);
  }
}

/** The keys a deleteRange deletes from `state`: the model's own reading of the contract (UTF-8 byte order). */
function keysInRange(state: ReadonlyMap<string, string>, range: SimRange): string[] {
  const bytes = (key: string) => Buffer.from(key, 'utf8');
  const { prefix = '', gte, lt, reverse = false, limit = Number.POSITIVE_INFINITY } = range;
  const keys = [...state.keys()]
    .filter((key) => key.startsWith(prefix))
    .filter((key) => gte === undefined || Buffer.compare(bytes(key), bytes(gte)) >= 0)
    .filter((key) => lt === undefined || Buffer.compare(bytes(key), bytes(lt)) < 0)
    .sort((a, b) => Buffer.compare(bytes(a), bytes(b)));
  if (reverse) keys.reverse();
  return keys.slice(0, limit);
}

function lastPutPerKey(entries: readonly BatchEntry[]): BatchEntry[] {
  const last = new Map<string, BatchEntry>();
  for (const entry of entries) last.set(entry.key, entry);
  return [...last.values()].filter((entry) => entry.value !== undefined);
}

export function sameState(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [key, value] of a) if (b.get(key) !== value) return false;
  return true;
}

export function describeDifference(expected: ReadonlyMap<string, string>, actual: ReadonlyMap<string, string>): string {
  const lines: string[] = [];
  const show = (value: string | undefined) => (value === undefined ? 'nothing' : `#${writeIdOf(value) ?? '?'}`);
  for (const key of new Set([...expected.keys(), ...actual.keys()])) {
    if (expected.get(key) !== actual.get(key)) lines.push(`${key}: expected ${show(expected.get(key))}, got ${show(actual.get(key))}`);
  }
  return lines.join('; ');
}
