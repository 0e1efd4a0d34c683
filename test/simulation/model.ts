/**
 * The reference model: what the store may hold after a crash, and what it must serve meanwhile.
 *
 * Every write goes into the WAL in the order it was issued, so after recovery the store must hold
 * the last verified state plus a *prefix* of the writes issued since — at least every acknowledged
 * one, and possibly some of those in flight or rejected (an unacknowledged write may or may not
 * have landed). That one rule covers the per-key checks: (a) no acknowledged write lost, (b) nothing
 * that was never written, (c) batches all-or-none, (d) no garbled value. When it fails, `diagnose`
 * says which of those it was.
 *
 * The model also knows what each write does. A conditional write, an increment, a put that keeps
 * its key's expiry, an expire: each is resolved when it is sequenced, against every write
 * sequenced before it — and the model resolves it the same way when it is issued, against the
 * state after every write issued before it, at the store's clock then. So it predicts each write's
 * answer (`{ ok: true, seq }` or `{ ok: false, conflicts }`, an increment's number, ERR_NOT_A_NUMBER)
 * and its record: the seq it gets (one per record, in order; a write that resolves to nothing gets
 * none) and so every key's version (the seq that last wrote it) and expiry. A prefix of the writes
 * is then a state with exact versions and expiries and a last seq, which recovery must match.
 *
 * Time: the store reads a clock the simulation moves (and keeps a high-water mark over it, per
 * process). An expired key is absent to every read and every condition, whether or not active
 * expiry has removed it yet; the model keeps it until a delete record (active expiry's, which the
 * simulation fires at chosen points and the model predicts like any write) removes it, so `size`,
 * which counts such keys, is exact too.
 */
import type { SimRange } from './ops.js';
import { writeIdOf } from './ops.js';

/** A key as the store holds it. `expiresAt` 0: never. */
export interface ModelEntry {
  value: string;
  /** The seq of the record that last wrote the key (a put, an increment, an expire). */
  version: number;
  expiresAt: number;
  /** The seq of the record that last wrote the value (an expire changes the version, not this). */
  writtenSeq: number;
}

export type ModelState = Map<string, ModelEntry>;

/** What a record does: the store's WAL ops, as the model applies them. */
export type Effect =
  | { type: 'put'; key: string; value: string; expiresAt: number }
  | { type: 'delete'; key: string }
  | { type: 'expire'; key: string; expiresAt: number }
  | { type: 'deleteRange'; range: SimRange };

export type Check = { key: string; version: number } | { key: string; absent: true };

/** One operation of a write as the caller asked for it. */
export type IntentOp =
  | { type: 'put'; key: string; value: string; expiresAt: number }
  | { type: 'putKeepTtl'; key: string; value: string }
  | { type: 'delete'; key: string }
  /** `expiresAt` undefined: the key keeps its expiry. */
  | { type: 'increment'; key: string; delta: number; expiresAt?: number }
  /** Sets the expiry of a key that must exist (0: none). */
  | { type: 'expire'; key: string; expiresAt: number }
  | { type: 'deleteRange'; range: SimRange }
  /** Active expiry: delete the key if it is still this version and expired. */
  | { type: 'deleteIfExpired'; key: string; version: number };

export type WriteKind = 'put' | 'delete' | 'batch' | 'deleteRange' | 'increment' | 'expire' | 'expiry';

export interface Intent {
  kind: WriteKind;
  checks: readonly Check[];
  ops: readonly IntentOp[];
}

/** What a write must answer. */
export type Expected =
  | { type: 'result'; ok: true; seq: number }
  | { type: 'result'; ok: false; conflicts: string[] }
  | { type: 'increment'; value: number }
  | { type: 'deleteRange'; seq: number; deleted: number }
  | { type: 'error'; code: 'ERR_NOT_A_NUMBER' }
  /** Active expiry: nobody is answered. */
  | { type: 'internal' };

export type WriteStatus = 'pending' | 'acked' | 'rejected';

export interface ModelWrite {
  /** Position in issue order (= WAL order) since the last verified recovery. */
  index: number;
  kind: WriteKind;
  intent: Intent;
  /** The store's clock when it was issued: what "expired" meant for it. */
  nowMs: number;
  /** What its record does (none when it writes no record). */
  effects: Effect[];
  /** Its record's seq, or undefined when it writes none. */
  seq: number | undefined;
  /** The seq of the last record up to and including this write. */
  seqThrough: number;
  expected: Expected;
  /** Sets an expiry already due: active expiry would find it as soon as it applies. */
  expiresDue: boolean;
  /** The clock epoch it was issued in (a range delete's count of live keys depends on the clock when it applies). */
  clockEpoch: number;
  status: WriteStatus;
  error?: unknown;
}

/** What the store serves: its live entries (expired ones hidden), and its size (which counts them). */
export interface Observation {
  entries: Map<string, { value: string; version: number; expiresAt: number }>;
  size: number;
  lastSeq: number;
}

export class SimulationFailure extends Error {
  readonly kind: string;
  constructor(kind: string, message: string) {
    super(`${kind}: ${message}`);
    this.kind = kind;
  }
}

export class Model {
  /** The state the last recovery was verified to hold, and its last seq. */
  #durable: ModelState = new Map();
  #durableSeq = 0;
  #writes: ModelWrite[] = [];
  /** The state after every write issued, and the seq of the last record among them. */
  #tip: ModelState = new Map();
  #tipSeq = 0;
  /** Every write below it that writes a record is acknowledged (or committed, for active expiry). */
  #ackedPrefix = 0;
  /** Acknowledged writes folded into the durable state by `forget`, not yet checked by a recovery. */
  #ackedBeforeForget = 0;
  /** Bumped at every crash and rebase: callbacks of writes from before are stale. */
  #generation = 0;
  /** The store's clock: the high-water mark of the simulated clock in this process. */
  #nowMs = 0;
  #clockEpoch = 0;
  /** Every value ever issued: the keys it was written under. */
  readonly #issuedValues = new Map<string, Set<string>>();
  /** Versions each key had, newest last (for stale conditions). */
  readonly #versions = new Map<string, number[]>();
  /** Broken rules seen in callbacks (which cannot throw usefully); checked between steps. */
  readonly violations: SimulationFailure[] = [];
  ackedTotal = 0;
  /** What the writes resolved to, by kind of answer: for the run's statistics. */
  readonly outcomes = { conditionsHeld: 0, conflicts: 0, notANumber: 0, increments: 0, expiryDeletes: 0 };

  get writes(): readonly ModelWrite[] {
    return this.#writes;
  }

  get ackedPrefix(): number {
    return this.#ackedPrefix;
  }

  /** The store's clock as the model has it. */
  get nowMs(): number {
    return this.#nowMs;
  }

  /** The seq of the last record issued. */
  get tipSeq(): number {
    return this.#tipSeq;
  }

  /**
   * A store opened (and read its clock) with the simulated clock at `sourceMs`. The store's clock
   * keeps a high-water mark per process: a new process's starts there, the same process's goes on.
   */
  opened(sourceMs: number, newProcess: boolean): void {
    this.#nowMs = newProcess ? sourceMs : Math.max(this.#nowMs, sourceMs);
    this.#clockEpoch++;
  }

  /** The simulated clock moved to `sourceMs` (and the store read it): the store's clock never goes back. */
  clockMoved(sourceMs: number): void {
    this.#nowMs = Math.max(this.#nowMs, sourceMs);
    this.#clockEpoch++;
  }

  /** The key's entry after every write issued (expired or not), for choosing conditions. */
  tipEntry(key: string): ModelEntry | undefined {
    return this.#tip.get(key);
  }

  /** How many keys the store holds that are expired (hidden from reads), after every write issued. */
  expiredStored(): number {
    let count = 0;
    for (const entry of this.#tip.values()) if (isExpired(entry.expiresAt, this.#nowMs)) count++;
    return count;
  }

  /** A version the key does not have now: an older one of its own, or another. */
  staleVersion(key: string): number {
    const current = this.#tip.get(key)?.version;
    const older = (this.#versions.get(key) ?? []).filter((version) => version !== current);
    if (older.length > 0) return older[older.length - 1];
    if (current !== undefined) return current > 1 ? current - 1 : current + 1;
    return Math.max(1, this.#tipSeq);
  }

  /** What `intent` would do if issued now (it is not recorded). */
  predict(intent: Intent): Pick<ModelWrite, 'effects' | 'seq' | 'expected' | 'expiresDue'> {
    const seq = this.#tipSeq + 1;
    const resolution = resolve(intent, this.#tip, this.#nowMs, seq);
    if ('conflicts' in resolution) {
      return { effects: [], seq: undefined, expected: { type: 'result', ok: false, conflicts: resolution.conflicts }, expiresDue: false };
    }
    if ('notANumber' in resolution)
      return { effects: [], seq: undefined, expected: { type: 'error', code: 'ERR_NOT_A_NUMBER' }, expiresDue: false };
    const { effects, value } = resolution;
    const written = effects.length > 0;
    const expiresDue = setsDueExpiry(effects, this.#nowMs);
    let expected: Expected;
    if (intent.kind === 'expiry') expected = { type: 'internal' };
    else if (intent.kind === 'increment') expected = { type: 'increment', value: value ?? Number.NaN };
    else if (intent.kind === 'deleteRange') {
      const range = (effects[0] as Extract<Effect, { type: 'deleteRange' }>).range;
      const deleted = keysInRange(this.#tip, range).filter((key) => isLive(this.#tip.get(key), this.#nowMs)).length;
      expected = { type: 'deleteRange', seq, deleted };
    } else expected = { type: 'result', ok: true, seq: written ? seq : this.#tipSeq };
    return { effects, seq: written ? seq : undefined, expected, expiresDue };
  }

  /** Records a write the store accepted for processing; returns callbacks for its promise. */
  issue(intent: Intent): { write: ModelWrite; ack: (result: unknown) => void; reject: (error: unknown) => void } {
    const predicted = this.predict(intent);
    const write: ModelWrite = {
      index: this.#writes.length,
      kind: intent.kind,
      intent,
      nowMs: this.#nowMs,
      ...predicted,
      seqThrough: predicted.seq ?? this.#tipSeq,
      clockEpoch: this.#clockEpoch,
      status: 'pending',
    };
    this.#noteIssued(intent);
    this.#writes.push(write);
    if (write.seq !== undefined) {
      applyEffects(this.#tip, write.effects, write.seq);
      this.#tipSeq = write.seq;
      for (const effect of write.effects) {
        if (effect.type === 'put' || effect.type === 'expire') this.#noteVersion(effect.key, write.seq);
        if (effect.type === 'put') this.#noteValue(effect.value, effect.key);
      }
    }
    const generation = this.#generation;
    return {
      write,
      ack: (result) => {
        if (generation !== this.#generation) return;
        this.#settled(write);
        const wrong = wrongAnswer(write, result, this.#clockEpoch);
        if (wrong !== undefined)
          this.violations.push(new SimulationFailure('wrong-result', `write ${write.index} (${write.kind}) ${wrong}`));
        this.#count(write);
      },
      reject: (error) => {
        if (generation !== this.#generation) return;
        const code = (error as { code?: unknown }).code;
        if (write.expected.type === 'error' && code === write.expected.code) {
          this.#settled(write);
          this.#count(write);
          return;
        }
        write.status = 'rejected';
        write.error = error;
        if (code !== 'ERR_STORE_FAILED') {
          const expected = describeExpected(write.expected);
          this.violations.push(
            new SimulationFailure(
              'bad-rejection',
              `write ${write.index} (${write.kind}, expected ${expected}) rejected with ${code ?? 'an untyped error'}: ${String(error)}`,
            ),
          );
        }
      },
    };
  }

  /**
   * Active expiry runs now, with the store having committed up to `committedSeq`: it looks at the
   * committed keys expired at the store's clock and asks to delete each if it is still that version
   * when its record is sequenced (after every write issued so far). Returns the write, or undefined
   * when it finds no key (and sends nothing).
   */
  issueExpiry(committedSeq: number): ModelWrite | undefined {
    const committed = this.#committedState(committedSeq);
    const ops: IntentOp[] = [];
    for (const [key, entry] of committed) {
      if (isExpired(entry.expiresAt, this.#nowMs)) ops.push({ type: 'deleteIfExpired', key, version: entry.version });
    }
    if (ops.length === 0) return undefined;
    const { write } = this.issue({ kind: 'expiry', checks: [], ops });
    this.outcomes.expiryDeletes += write.effects.length;
    return write;
  }

  /**
   * Whether every write that sets an expiry due by now (at the store's clock now, which may have
   * moved since it was issued) is committed: one committed later would be found by active expiry
   * looking again, at once, when its record commits.
   */
  dueExpiriesCommitted(committedSeq: number): boolean {
    return this.#writes.every(
      (write) => write.seq === undefined || write.seq <= committedSeq || !setsDueExpiry(write.effects, this.#nowMs),
    );
  }

  /** The store committed up to `lastSeq`: active expiry's records up to there are done (nobody is answered). */
  observeCommitted(lastSeq: number): void {
    for (const write of this.#writes) {
      if (write.kind !== 'expiry' || write.status !== 'pending') continue;
      if (write.seqThrough > lastSeq) continue;
      // Seen committed, not answered: writes before it may be committed with their answers still on the way.
      write.status = 'acked';
      this.#ackedPrefix = Math.max(this.#ackedPrefix, write.index + 1);
    }
  }

  /** The store failed: active expiry's records not committed by now never will be. */
  storeFailed(lastSeq: number): void {
    this.observeCommitted(lastSeq);
    for (const write of this.#writes) if (write.kind === 'expiry' && write.status === 'pending') write.status = 'rejected';
  }

  /** Records a value written while the store was failed: it must be refused and never appear. */
  noteRefused(values: ReadonlyArray<{ key: string; value: string }>): void {
    for (const { key, value } of values) this.#noteValue(value, key);
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
  stateAfter(count: number): ModelState {
    const state = cloneState(this.#durable);
    for (const write of this.#writes.slice(0, count)) if (write.seq !== undefined) applyEffects(state, write.effects, write.seq);
    return state;
  }

  /** The seq of the last record among the first `count` writes. */
  seqAfter(count: number): number {
    const last = Math.min(count, this.#writes.length) - 1;
    return last < 0 ? this.#durableSeq : this.#writes[last].seqThrough;
  }

  /** Every key the model knows of (for reading back through `get`). */
  keys(): Set<string> {
    const keys = new Set([...this.#durable.keys(), ...this.#tip.keys()]);
    for (const write of this.#writes) for (const op of write.intent.ops) if ('key' in op) keys.add(op.key);
    return keys;
  }

  /** What the store must serve holding `state` at the model's clock. */
  observationOf(state: ModelState, lastSeq: number): Observation {
    const entries = new Map<string, { value: string; version: number; expiresAt: number }>();
    for (const [key, entry] of state) {
      if (isLive(entry, this.#nowMs)) entries.set(key, { value: entry.value, version: entry.version, expiresAt: entry.expiresAt });
    }
    return { entries, size: state.size, lastSeq };
  }

  /**
   * How many writes (at least the acknowledged ones) the observed store is the result of, or
   * undefined if it is no such prefix: entries with their versions and expiries, size and last seq.
   * Reads between steps must pass this too: a commit is applied a few microtasks before its promise
   * resolves, never out of order.
   */
  matchPrefix(observed: Observation): number | undefined {
    const candidate = this.stateAfter(this.#ackedPrefix);
    for (let count = this.#ackedPrefix; ; count++) {
      if (this.seqAfter(count) === observed.lastSeq && sameObservation(this.observationOf(candidate, observed.lastSeq), observed))
        return count;
      if (count >= this.#writes.length) return undefined;
      const write = this.#writes[count];
      if (write.seq !== undefined) applyEffects(candidate, write.effects, write.seq);
    }
  }

  /**
   * Checks a recovered store: it must be the durable state plus a prefix of the writes since that
   * contains every acknowledged one. On success that state becomes the new durable state.
   */
  verifyRecovered(observed: Observation): { acked: number } {
    const acked = this.#acknowledged() + this.#ackedBeforeForget;
    this.#ackedBeforeForget = 0;
    const count = this.matchPrefix(observed);
    if (count === undefined) throw this.#diagnose(observed);
    this.rebase(this.stateAfter(count), this.seqAfter(count));
    return { acked };
  }

  /** The state once every write is settled (a clean close): every write acknowledged, else a failure. */
  settledState(): ModelState {
    const unsettled = this.#writes.find((write) => write.status !== 'acked');
    if (unsettled !== undefined)
      throw new SimulationFailure('state', `write ${unsettled.index} (${unsettled.kind}) is ${unsettled.status} after a clean close`);
    return this.stateAfter(this.#writes.length);
  }

  /**
   * A salvage lost the entries of one snapshot block (the snapshot of `snapshotSeq`): the keys among
   * `keys` whose value no record after the snapshot wrote again are gone (an expire replayed over a
   * lost key finds nothing). The model starts over from the settled state without them; returns them.
   */
  forget(keys: readonly string[], snapshotSeq: number): string[] {
    const state = this.settledState();
    const lost = keys.filter((key) => {
      const entry = state.get(key);
      return entry !== undefined && entry.writtenSeq <= snapshotSeq;
    });
    for (const key of lost) state.delete(key);
    // Those writes are checked by the next recovery, against the state without the lost keys.
    const acked = this.#acknowledged();
    this.rebase(state, this.seqAfter(this.#writes.length));
    this.#ackedBeforeForget += acked;
    return lost;
  }

  /** Starts over from a verified state. */
  rebase(state: ModelState, seq: number): void {
    this.#durable = cloneState(state);
    this.#durableSeq = seq;
    this.#tip = cloneState(state);
    this.#tipSeq = seq;
    this.#writes = [];
    this.#ackedPrefix = 0;
    this.#generation++;
  }

  #acknowledged(): number {
    return this.#writes.filter((write) => write.status === 'acked' && write.kind !== 'expiry').length;
  }

  #count(write: ModelWrite): void {
    if (write.kind === 'expiry') return;
    this.ackedTotal++;
    if (write.expected.type === 'error') this.outcomes.notANumber++;
    if (write.expected.type === 'result' && !write.expected.ok) this.outcomes.conflicts++;
    if (write.expected.type === 'result' && write.expected.ok && write.intent.checks.length > 0) this.outcomes.conditionsHeld++;
    if (write.expected.type === 'increment') this.outcomes.increments++;
  }

  /**
   * A write settled as it should: every record sequenced before it must be committed by then. (A
   * write that writes no record settles once the record before it commits; the store may settle it
   * after later writes of the same commit.) Active expiry's records before it are committed too.
   */
  #settled(write: ModelWrite): void {
    for (const before of this.#writes.slice(0, write.index)) {
      if (before.seq === undefined || before.status === 'acked') continue;
      if (before.kind === 'expiry' && before.status === 'pending') {
        before.status = 'acked';
        continue;
      }
      this.violations.push(
        new SimulationFailure(
          'ack-order',
          `write ${write.index} (${write.kind}) settled while write ${before.index} (${before.kind}, seq ${before.seq}) is ${before.status}`,
        ),
      );
      break;
    }
    write.status = 'acked';
    this.#ackedPrefix = Math.max(this.#ackedPrefix, write.index + 1);
  }

  /** The state the store has applied when it has committed up to `seq`. */
  #committedState(seq: number): ModelState {
    for (let count = this.#writes.length; count >= 0; count--) {
      if (this.seqAfter(count) === seq) return this.stateAfter(count);
    }
    throw new SimulationFailure('wrong-seq', `the store committed up to seq ${seq}, which no prefix of the writes ends at`);
  }

  #noteIssued(intent: Intent): void {
    for (const op of intent.ops) if (op.type === 'put' || op.type === 'putKeepTtl') this.#noteValue(op.value, op.key);
  }

  #noteValue(value: string, key: string): void {
    const keys = this.#issuedValues.get(value) ?? new Set<string>();
    keys.add(key);
    this.#issuedValues.set(value, keys);
  }

  #noteVersion(key: string, version: number): void {
    const versions = this.#versions.get(key) ?? [];
    versions.push(version);
    this.#versions.set(key, versions);
    if (versions.length > 4) versions.shift();
  }

  #diagnose(observed: Observation): SimulationFailure {
    const expectedState = this.stateAfter(this.#ackedPrefix);
    const expected = valuesOf(this.observationOf(expectedState, 0));
    const recovered = valuesOf(observed);
    const lines: string[] = [];
    let kind = '';
    const note = (k: string, line: string) => {
      kind ||= k;
      lines.push(line);
    };
    const writtenValues = new Set<string>();
    for (const write of this.#writes) for (const effect of write.effects) if (effect.type === 'put') writtenValues.add(effect.value);
    for (const entry of this.#durable.values()) writtenValues.add(entry.value);
    for (const line of this.#partialBatches(recovered)) note('partial-batch', line);
    for (const [key, value] of expected) {
      const got = recovered.get(key);
      if (got === value || (got !== undefined && !this.#issuedValues.get(got)?.has(key))) continue;
      if (!this.#lostAckedWrite(key, value, got)) continue;
      const recoveredText = got === undefined ? 'nothing' : show(got);
      if (this.#ackedWriteTouches(key)) note('lost-acked-write', `key ${key}: acknowledged ${show(value)}, recovered ${recoveredText}`);
      else note('lost-recovered-state', `key ${key}: the last open recovered and served ${show(value)}, now ${recoveredText}`);
    }
    for (const key of recovered.keys()) {
      if (!expected.has(key) && !this.#someWriteLater(key, this.#ackedPrefix)) {
        const entry = expectedState.get(key);
        const why = entry === undefined ? 'deleted (or never written)' : `expired at ${entry.expiresAt} (now ${this.#nowMs})`;
        note('resurrected', `key ${key} is present but was ${why} by an acknowledged write`);
      }
    }
    for (const [key, value] of recovered) {
      const writtenKeys = this.#issuedValues.get(value);
      if (writtenKeys === undefined) {
        const id = writeIdOf(value);
        note(
          'garbled',
          `key ${key} holds a value that was never written (${id === undefined ? 'unrecognisable' : `looks like write #${id}`}, ${value.length} chars)`,
        );
      } else if (!writtenKeys.has(key)) {
        note('garbled', `key ${key} holds the value written for key ${[...writtenKeys].join(', ')}`);
      } else if (!writtenValues.has(value)) {
        note('never-written', `key ${key} holds ${show(value)}, a write the store refused or one older than the last recovery`);
      }
    }
    if (lines.length === 0) this.#diagnoseMetadata(observed, note);
    if (lines.length === 0) note('not-a-prefix', 'the recovered state is not the durable state plus any prefix of the writes since');
    const context = `(${this.#writes.length} writes since the last recovery, ${this.#acknowledged()} acknowledged, clock ${this.#nowMs})`;
    return new SimulationFailure(kind, `${lines.join('; ')} ${context}`);
  }

  /** The values are a prefix: then the versions, expiries, size or last seq are not. */
  #diagnoseMetadata(observed: Observation, note: (kind: string, line: string) => void): void {
    const recovered = valuesOf(observed);
    const candidate = this.stateAfter(this.#ackedPrefix);
    for (let count = this.#ackedPrefix; ; count++) {
      const expected = this.observationOf(candidate, this.seqAfter(count));
      if (sameValues(valuesOf(expected), recovered)) {
        for (const [key, entry] of expected.entries) {
          const got = observed.entries.get(key);
          if (got === undefined) continue;
          if (got.version !== entry.version) note('wrong-version', `key ${key}: version ${got.version}, expected ${entry.version}`);
          if (got.expiresAt !== entry.expiresAt)
            note('wrong-expiry', `key ${key}: expires at ${got.expiresAt || 'never'}, expected ${entry.expiresAt || 'never'}`);
        }
        if (observed.size !== expected.size)
          note('wrong-size', `size ${observed.size}, expected ${expected.size} (expired keys not yet removed count)`);
        if (observed.lastSeq !== expected.lastSeq)
          note('wrong-seq', `last seq ${observed.lastSeq}, expected ${expected.lastSeq} after ${count} writes`);
        return;
      }
      if (count >= this.#writes.length) return;
      const write = this.#writes[count];
      if (write.seq !== undefined) applyEffects(candidate, write.effects, write.seq);
    }
  }

  /** Whether `got` (for a key whose acknowledged value is `value`) can only be explained by loss. */
  #lostAckedWrite(key: string, value: string | undefined, got: string | undefined): boolean {
    // A later, unacknowledged write to the key may explain the difference.
    for (const write of this.#writes.slice(this.#ackedPrefix)) {
      if (write.effects.some((effect) => touches(effect, key) && (effect.type !== 'put' || effect.value === got))) return false;
    }
    return value !== got;
  }

  #ackedWriteTouches(key: string): boolean {
    return this.#writes.slice(0, this.#ackedPrefix).some((write) => write.effects.some((effect) => touches(effect, key)));
  }

  #someWriteLater(key: string, from: number): boolean {
    return this.#writes.slice(from).some((write) => write.effects.some((effect) => touches(effect, key)));
  }

  /** Batches some of whose puts are visible as their own values and some not. */
  #partialBatches(recovered: Map<string, string>): string[] {
    const lines: string[] = [];
    for (const write of this.#writes) {
      if (write.kind !== 'batch') continue;
      const puts = lastPutPerKey(write.effects).filter((effect) => !isExpired(effect.expiresAt, this.#nowMs));
      const visible = puts.filter((effect) => recovered.get(effect.key) === effect.value);
      if (visible.length === 0 || visible.length === puts.length) continue;
      // A later write to the missing keys, if it landed, hides them legitimately.
      const hidden = puts.filter((effect) => recovered.get(effect.key) !== effect.value);
      if (hidden.every((effect) => this.#someWriteLater(effect.key, write.index + 1))) continue;
      lines.push(`batch write ${write.index} is partly visible (${visible.length} of ${puts.length} puts)`);
    }
    return lines;
  }
}

type Resolution = { effects: Effect[]; value?: number } | { conflicts: string[] } | { notANumber: true };

/**
 * The model's own reading of the contract: checks against the live state (an expired key does not
 * exist), then each op in order, each seeing the ones before it; all or nothing.
 */
function resolve(intent: Intent, state: ModelState, nowMs: number, seq: number): Resolution {
  const written = new Map<string, ModelEntry | undefined>();
  const stored = (key: string) => (written.has(key) ? written.get(key) : state.get(key));
  const live = (key: string) => {
    const entry = stored(key);
    return isLive(entry, nowMs) ? entry : undefined;
  };
  const conflicts: string[] = [];
  for (const check of intent.checks) {
    const entry = live(check.key);
    const holds = 'absent' in check ? entry === undefined : entry?.version === check.version;
    if (!holds && !conflicts.includes(check.key)) conflicts.push(check.key);
  }
  if (conflicts.length > 0) return { conflicts };
  const effects: Effect[] = [];
  let value: number | undefined;
  for (const op of intent.ops) {
    let effect: Effect | undefined;
    switch (op.type) {
      case 'put':
        effect = op;
        break;
      case 'putKeepTtl':
        effect = { type: 'put', key: op.key, value: op.value, expiresAt: live(op.key)?.expiresAt ?? 0 };
        break;
      case 'delete':
        effect = op;
        break;
      case 'deleteRange':
        effect = op;
        break;
      case 'increment': {
        const entry = live(op.key);
        const current = entry === undefined ? 0 : integerOf(entry.value);
        if (current === undefined || !Number.isSafeInteger(current + op.delta)) return { notANumber: true };
        value = current + op.delta;
        effect = { type: 'put', key: op.key, value: String(value), expiresAt: op.expiresAt ?? entry?.expiresAt ?? 0 };
        break;
      }
      case 'expire':
        if (live(op.key) === undefined) return { conflicts: [op.key] };
        effect = op;
        break;
      case 'deleteIfExpired': {
        const entry = stored(op.key);
        if (entry !== undefined && isExpired(entry.expiresAt, nowMs) && entry.version === op.version)
          effect = { type: 'delete', key: op.key };
        break;
      }
    }
    if (effect === undefined) continue;
    effects.push(effect);
    if (effect.type === 'put') written.set(effect.key, { value: effect.value, version: seq, expiresAt: effect.expiresAt, writtenSeq: seq });
    else if (effect.type === 'delete') written.set(effect.key, undefined);
    else if (effect.type === 'expire') {
      const before = stored(effect.key);
      written.set(effect.key, before === undefined ? undefined : { ...before, version: seq, expiresAt: effect.expiresAt });
    }
  }
  return value === undefined ? { effects } : { effects, value };
}

/** A decimal integer as the store accepts one: '-' or no sign, no leading zeros, at most 16 digits. */
function integerOf(value: string): number | undefined {
  if (!/^-?(0|[1-9][0-9]{0,15})$/.test(value)) return undefined;
  const number = Number(value);
  return Number.isSafeInteger(number) ? number : undefined;
}

export function isExpired(expiresAt: number, nowMs: number): boolean {
  return expiresAt !== 0 && expiresAt <= nowMs;
}

function isLive(entry: ModelEntry | undefined, nowMs: number): entry is ModelEntry {
  return entry !== undefined && !isExpired(entry.expiresAt, nowMs);
}

export function applyEffects(state: ModelState, effects: readonly Effect[], seq: number): void {
  for (const effect of effects) {
    switch (effect.type) {
      case 'put':
        state.set(effect.key, { value: effect.value, version: seq, expiresAt: effect.expiresAt, writtenSeq: seq });
        break;
      case 'delete':
        state.delete(effect.key);
        break;
      case 'expire': {
        const before = state.get(effect.key);
        if (before !== undefined) state.set(effect.key, { ...before, version: seq, expiresAt: effect.expiresAt });
        break;
      }
      case 'deleteRange':
        for (const key of keysInRange(state, effect.range)) state.delete(key);
        break;
    }
  }
}

/** Whether the effects set an expiry due at `nowMs`. */
function setsDueExpiry(effects: readonly Effect[], nowMs: number): boolean {
  return effects.some((effect) => (effect.type === 'put' || effect.type === 'expire') && isExpired(effect.expiresAt, nowMs));
}

function touches(effect: Effect, key: string): boolean {
  return effect.type !== 'deleteRange' && effect.key === key;
}

function cloneState(state: ModelState): ModelState {
  return new Map([...state].map(([key, entry]) => [key, { ...entry }]));
}

/** The keys a deleteRange deletes from `state` (expired ones too): the model's own reading of the contract (UTF-8 byte order). */
function keysInRange(state: ReadonlyMap<string, unknown>, range: SimRange): string[] {
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

function lastPutPerKey(effects: readonly Effect[]): Array<Extract<Effect, { type: 'put' }>> {
  const last = new Map<string, Effect>();
  for (const effect of effects) if (effect.type !== 'deleteRange') last.set(effect.key, effect);
  return [...last.values()].filter((effect): effect is Extract<Effect, { type: 'put' }> => effect.type === 'put');
}

function valuesOf(observation: Observation): Map<string, string> {
  return new Map([...observation.entries].map(([key, entry]) => [key, entry.value]));
}

function sameValues(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [key, value] of a) if (b.get(key) !== value) return false;
  return true;
}

export function sameObservation(a: Observation, b: Observation): boolean {
  if (a.size !== b.size || a.lastSeq !== b.lastSeq || a.entries.size !== b.entries.size) return false;
  for (const [key, entry] of a.entries) {
    const other = b.entries.get(key);
    if (other === undefined || other.value !== entry.value || other.version !== entry.version || other.expiresAt !== entry.expiresAt)
      return false;
  }
  return true;
}

/** Why `result` is not what `write` must answer, or undefined when it is. */
function wrongAnswer(write: ModelWrite, result: unknown, clockEpoch: number): string | undefined {
  const expected = write.expected;
  const got = JSON.stringify(result);
  switch (expected.type) {
    case 'internal':
      return undefined;
    case 'error':
      return `resolved ${got}, expected a rejection with ${expected.code}`;
    case 'increment':
      return result === expected.value ? undefined : `resolved ${got}, expected ${expected.value}`;
    case 'deleteRange': {
      const answer = result as { ok?: unknown; seq?: unknown; deleted?: unknown };
      if (answer?.ok !== true || answer.seq !== expected.seq) return `resolved ${got}, expected { ok: true, seq: ${expected.seq} }`;
      // How many live keys it deleted depends on the clock when it applied: known while the clock stood still.
      if (write.clockEpoch === clockEpoch && answer.deleted !== expected.deleted)
        return `resolved ${got}, expected deleted: ${expected.deleted}`;
      return undefined;
    }
    case 'result': {
      const want = expected.ok ? { ok: true, seq: expected.seq } : { ok: false, conflicts: expected.conflicts };
      return got === JSON.stringify(want) ? undefined : `resolved ${got}, expected ${JSON.stringify(want)}`;
    }
  }
}

function describeExpected(expected: Expected): string {
  if (expected.type === 'error') return expected.code;
  if (expected.type === 'increment') return String(expected.value);
  if (expected.type === 'result')
    return JSON.stringify(expected.ok ? { ok: true, seq: expected.seq } : { ok: false, conflicts: expected.conflicts });
  return expected.type;
}

function show(value: string): string {
  return /^-?\d+$/.test(value) ? `the number ${value}` : `#${writeIdOf(value) ?? '?'}`;
}

export function describeDifference(expected: Observation, actual: Observation): string {
  const lines: string[] = [];
  const text = (entry: { value: string; version: number; expiresAt: number } | undefined) =>
    entry === undefined ? 'nothing' : `${show(entry.value)} v${entry.version}${entry.expiresAt ? ` expires ${entry.expiresAt}` : ''}`;
  for (const key of new Set([...expected.entries.keys(), ...actual.entries.keys()])) {
    const want = expected.entries.get(key);
    const got = actual.entries.get(key);
    if (text(want) !== text(got)) lines.push(`${key}: expected ${text(want)}, got ${text(got)}`);
  }
  if (expected.size !== actual.size) lines.push(`size: expected ${expected.size}, got ${actual.size}`);
  if (expected.lastSeq !== actual.lastSeq) lines.push(`last seq: expected ${expected.lastSeq}, got ${actual.lastSeq}`);
  return lines.join('; ');
}
