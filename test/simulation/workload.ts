/**
 * Runs one simulation: a seed's op list against a DurableKVStore on a MemoryFileSystem wrapped in a
 * FaultyFileSystem, checking the store against the model (model.ts) after every crash, reopen,
 * fault and settle. Deterministic: the same seed and op list replay the same run, call for call
 * (everything is in memory and resolves in microtasks; no timers are involved with sync: 'always').
 * Time is the simulation's too: the store's `clock` is a ManualClock the op list moves, and active
 * expiry runs only where the op list says (its timer is held: see expiry-timers.ts).
 */
import { DurableKVStore } from '../../src/store.js';
import type { StoreOptions } from '../../src/options.js';
import type { FileSystem } from '../../src/fs/file-system.js';
import { FaultyFileSystem, MemoryFileSystem, type FaultStats } from '../../src/testing/index.js';
import { ManualClock } from '../../src/testing/manual-clock.js';
import { snapshotHeaderSeqOffset } from '../../src/format/snapshot-format.js';
import type { BatchOperation, BatchOptions, PutOptions, TtlOptions } from '../../src/store.js';
import { codeOf } from '../helpers/errors.js';
import {
  Model,
  SimulationFailure,
  describeDifference,
  sameObservation,
  type Check,
  type Intent,
  type IntentOp,
  type ModelWrite,
  type Observation,
} from './model.js';
import {
  formatOp,
  type CheckSpec,
  type MediaDamage,
  type SetTtlSpec,
  type SimConfig,
  type SimOp,
  type TtlSpec,
  type VersionPick,
} from './ops.js';
import { ProcessFileSystem } from './process-file-system.js';
import { entriesBlockAt } from './snapshot-blocks.js';
import { ExpiryTimers, simulatedExpiryIntervalMs } from './expiry-timers.js';
import type { LostEntries } from '../../src/format/snapshot-salvage.js';

export const storeDir = '/db';

/** Macrotask turns an operation may take before it counts as hung (everything here is microtasks). */
const hangTurns = 200;

/**
 * Where the simulated wall clock starts (2100-01-01): far after any real clock, so a store opened
 * with the real one (repair's fresh snapshot) never finds a key expired.
 */
export const simulatedEpochMs = Date.UTC(2100, 0, 1);

export interface SimStats {
  steps: number;
  crashes: number;
  reopens: number;
  /** Opens that failed on an injected fault or bit flip, as they should have (typed error, no lock). */
  failedOpens: number;
  /** Times the store went to 'failed' after a fault and was checked and recovered. */
  storeFailures: number;
  /** Acknowledged writes whose presence a recovery verified. */
  ackedChecked: number;
  acked: number;
  /** Crashes that hit while a snapshot was being written. */
  crashesDuringSnapshot: number;
  /** Recoveries that cut a torn tail, and that started from a snapshot. */
  tornTails: number;
  snapshotsLoaded: number;
  /** Latent bit flips on the disk between a clean close and the next open, and what came of them. */
  media: { flips: number; harmless: number; refused: number; restoredByRepair: number; salvaged: number; salvageLostKeys: number };
  /** The data model at work: answers predicted and checked, clock steps, active expiry. */
  data: {
    /** Conditional writes whose conditions held, as predicted. */
    conditionsHeld: number;
    /** Conditional writes (and expires of missing keys) answered `{ ok: false, conflicts }`, as predicted. */
    conflicts: number;
    /** Increments (alone or in a batch) rejected with ERR_NOT_A_NUMBER, as predicted. */
    notANumber: number;
    /** Increments answered with the predicted number. */
    increments: number;
    clockSteps: number;
    clockStepsBack: number;
    /** Runs of active expiry, and the keys their records deleted (as predicted). */
    sweeps: number;
    expiryDeletes: number;
    /** Keys stored but expired, checked hidden from every read (at settles and recoveries). */
    expiredHidden: number;
    /** Writes in flight when power was lost (each then found in the recovered store, or not, as a prefix allows), by kind. */
    unsettledAtPowerLoss: Record<UnsettledKind, number>;
  };
  faults: FaultStats;
}

export type SimResult = { ok: true; stats: SimStats } | { ok: false; stats: SimStats; failure: SimulationFailure; step: number };

export interface RunOptions {
  /** Verbose trace, one line per event. */
  log?: (line: string) => void;
  /** Makes the file system under the fault injector. Default: a new MemoryFileSystem. */
  disk?: () => MemoryFileSystem;
}

type Store = DurableKVStore<string>;

const immediate = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Settles `promise` within a bounded number of macrotask turns, or reports it as hung. */
async function bounded<T>(promise: Promise<T>, what: string): Promise<T> {
  let settled = false;
  const guarded = promise.finally(() => (settled = true));
  guarded.catch(() => undefined);
  for (let turn = 0; turn < hangTurns && !settled; turn++) await immediate();
  if (!settled) throw new SimulationFailure('hang', `${what} did not settle`);
  return guarded;
}

function describeError(error: unknown): string {
  return `${codeOf(error) ?? 'untyped'} ${error instanceof Error ? error.message : String(error)}`;
}

/** Whether a run is under way (its own handler then takes unhandled rejections). */
export function simulationRunning(): boolean {
  return running > 0;
}

let running = 0;

export async function runSimulation(seed: number, config: SimConfig, ops: readonly SimOp[], options: RunOptions = {}): Promise<SimResult> {
  const timers = new ExpiryTimers();
  timers.install();
  const run = new SimulationRun(seed, config, options, timers);
  // An engine promise rejecting with nobody listening is a bug too (an invariant broken in a loop
  // nobody awaits, say): it fails the step it happened in.
  const onUnhandled = (reason: unknown) => run.unhandled(reason);
  process.on('unhandledRejection', onUnhandled);
  running++;
  let step = 0;
  try {
    await run.start();
    for (; step < ops.length; step++) await run.step(ops[step], step);
    step = ops.length;
    await run.finish();
    return { ok: true, stats: run.stats() };
  } catch (error) {
    // An unhandled rejection is the cause of whatever failed after it (a write that never settles).
    const failure =
      run.unhandledRejection ??
      (error instanceof SimulationFailure
        ? error
        : new SimulationFailure('exception', `${describeError(error)}\n${(error as Error).stack ?? ''}`));
    return { ok: false, stats: run.stats(), failure, step };
  } finally {
    running--;
    process.off('unhandledRejection', onUnhandled);
    timers.uninstall();
  }
}

class SimulationRun {
  readonly #config: SimConfig;
  readonly #log: (line: string) => void;
  readonly #logging: boolean;
  readonly #faulty: FaultyFileSystem;
  readonly #model = new Model();
  readonly #clock = new ManualClock(simulatedEpochMs);
  /**
   * The store's clock source: one per simulated process. The store keeps its high-water mark per
   * process and source, across a close and an open; a power loss starts a new process, and so a
   * new source (the store cannot tell a new process otherwise).
   */
  #clockSource: () => number = () => this.#clock.now();
  /** Power was lost since the last open: the next open is a new process's. */
  #newProcess = true;
  readonly #timers: ExpiryTimers;
  #process!: ProcessFileSystem;
  #store!: Store;
  /** Snapshots in flight on the current store. */
  #snapshots: Promise<unknown>[] = [];
  /** Writes in flight on the current store (the model tracks what they mean). */
  #inFlight: Promise<unknown>[] = [];
  /** Settles once active expiry's record in flight (if any) is committed, or can no longer be. */
  #expiry: Promise<void> | undefined;
  #counts = {
    steps: 0,
    crashes: 0,
    reopens: 0,
    failedOpens: 0,
    storeFailures: 0,
    ackedChecked: 0,
    crashesDuringSnapshot: 0,
    tornTails: 0,
    snapshotsLoaded: 0,
    media: { flips: 0, harmless: 0, refused: 0, restoredByRepair: 0, salvaged: 0, salvageLostKeys: 0 },
    data: { clockSteps: 0, clockStepsBack: 0, sweeps: 0, expiredHidden: 0, unsettledAtPowerLoss: unsettledKinds() },
  };
  #faultsSeen = 0;
  readonly #disk: MemoryFileSystem;

  constructor(seed: number, config: SimConfig, options: RunOptions, timers: ExpiryTimers) {
    this.#config = config;
    this.#timers = timers;
    this.#log = options.log ?? (() => undefined);
    this.#logging = options.log !== undefined;
    // The disk's own seed picks which unsynced overwritten sectors a crash keeps: replayable from the run's seed.
    this.#disk = options.disk?.() ?? new MemoryFileSystem({ seed });
    this.#faulty = new FaultyFileSystem({ inner: this.#disk, seed });
  }

  /** The first unhandled rejection seen during the run. */
  unhandledRejection: SimulationFailure | undefined;

  unhandled(reason: unknown): void {
    const text = reason instanceof Error ? `${describeError(reason)}\n${reason.stack ?? ''}` : String(reason);
    const failure = new SimulationFailure('unhandled-rejection', text);
    this.unhandledRejection ??= failure;
    this.#model.violations.push(failure);
  }

  stats(): SimStats {
    const { data } = this.#counts;
    return {
      ...this.#counts,
      media: { ...this.#counts.media },
      data: { ...this.#model.outcomes, ...data, unsettledAtPowerLoss: { ...data.unsettledAtPowerLoss } },
      acked: this.#model.ackedTotal,
      faults: this.#faulty.stats(),
    };
  }

  async start(): Promise<void> {
    this.#log(`config ${JSON.stringify(this.#config)}`);
    await this.#open({});
  }

  async step(op: SimOp, index: number): Promise<void> {
    this.#counts.steps++;
    if (this.#logging) this.#log(`${index + 1}. ${formatOp(op)}`);
    await this.#execute(op);
    this.#noteFaults();
    this.#model.throwViolations();
    if (this.#store.state === 'failed') await this.#onStoreFailed();
  }

  /** Drains, closes cleanly and reopens once more: everything acknowledged must be there. */
  async finish(): Promise<void> {
    await this.#execute({ type: 'settle' });
    if (this.#store.state === 'failed') await this.#onStoreFailed();
    this.#faulty.clearFaults();
    await this.#execute({ type: 'reopen' });
    this.#model.throwViolations();
    await bounded(this.#store.close(), 'the final close');
  }

  async #execute(op: SimOp): Promise<void> {
    switch (op.type) {
      case 'put':
      case 'delete':
      case 'batch':
      case 'increment':
      case 'expire':
        return this.#write(this.#callFor(op));
      case 'deleteRange':
        return this.#write({
          intent: { kind: 'deleteRange', checks: [], ops: [{ type: 'deleteRange', range: op.range }] },
          call: (store) => store.deleteRange(op.range),
        });
      case 'clock':
        return this.#moveClock(op.stepMs);
      case 'sweep':
        return this.#sweep();
      case 'snapshot':
        return this.#snapshot();
      case 'yield':
        for (let turn = 0; turn < op.turns; turn++) await null;
        return this.#checkReadsInFlight();
      case 'settle':
        return this.#settle();
      case 'fault':
        this.#faulty.failNth(op.op, op.nth, op.code);
        return;
      case 'torn':
        this.#faulty.tornAppendNth(op.nth);
        return;
      case 'crash':
        return this.#crash(op.afterCalls, { openCrashAfter: op.openCrashAfter, flip: op.flip });
      case 'reopen':
        return this.#closeAndReopen(op.flip, op.damage);
    }
  }

  /**
   * Starts a write (not awaited). Before a write that sets an expiry already due, active expiry's
   * record in flight must commit: once it does, the expiry actor looks again at once for keys due,
   * and would find this one at a moment no op chose. (Otherwise it starts at once, in this turn:
   * the interleaving of plain writes is what it was before there was active expiry to wait for.)
   */
  #write(write: WriteCall): void | Promise<void> {
    if (this.#expiry !== undefined && this.#store.state === 'ready' && this.#model.predict(write.intent).expiresDue) {
      return this.#expiryDone().then(() => this.#start(write));
    }
    this.#start(write);
  }

  #start({ intent, call }: WriteCall): void {
    if (this.#store.state === 'failed') {
      // Refused at once; its value must never appear anywhere.
      this.#model.noteRefused(valuesOf(intent));
      this.#inFlight.push(this.#expectFailedRefusal(call(this.#store), `${intent.kind} on a failed store`));
      return;
    }
    const { ack, reject } = this.#model.issue(intent);
    this.#inFlight.push(call(this.#store).then(ack, reject));
  }

  /**
   * The call an op makes and what it asks of the model, with what the op left open settled now: a
   * version to expect (the one the model predicts for the key after every write issued so far, or
   * one it does not have), an absolute expiry (from the store's clock now).
   */
  #callFor(op: Extract<SimOp, { type: 'put' | 'delete' | 'batch' | 'increment' | 'expire' }>): WriteCall {
    const model = this.#model;
    const nowMs = model.nowMs;
    const version = (key: string, pick: VersionPick): number =>
      pick === 'current' ? (model.tipEntry(key)?.version ?? model.staleVersion(key)) : model.staleVersion(key);
    const expiresAt = (ttl: SetTtlSpec): number => ('ttlMs' in ttl ? nowMs + ttl.ttlMs : nowMs + ttl.expiresInMs);
    const setTtl = (ttl: SetTtlSpec): TtlOptions => ('ttlMs' in ttl ? { ttlMs: ttl.ttlMs } : { expiresAt: expiresAt(ttl) });
    switch (op.type) {
      case 'put': {
        const options: PutOptions = ttlOptions(op.ttl, nowMs);
        const checks: Check[] = [];
        if (op.ifVersion !== undefined) {
          options.ifVersion = version(op.key, op.ifVersion);
          checks.push({ key: op.key, version: options.ifVersion });
        }
        if (op.ifAbsent) {
          options.ifAbsent = true;
          checks.push({ key: op.key, absent: true });
        }
        const plain = op.ttl === undefined && checks.length === 0;
        return {
          intent: { kind: 'put', checks, ops: [putOp(op.key, op.value, op.ttl, nowMs)] },
          call: (store) => (plain ? store.put(op.key, op.value) : store.put(op.key, op.value, options)),
        };
      }
      case 'delete': {
        if (op.ifVersion === undefined) {
          return { intent: { kind: 'delete', checks: [], ops: [{ type: 'delete', key: op.key }] }, call: (store) => store.delete(op.key) };
        }
        const ifVersion = version(op.key, op.ifVersion);
        return {
          intent: { kind: 'delete', checks: [{ key: op.key, version: ifVersion }], ops: [{ type: 'delete', key: op.key }] },
          call: (store) => store.delete(op.key, { ifVersion }),
        };
      }
      case 'batch': {
        const operations: Array<BatchOperation<string>> = [];
        const ops: IntentOp[] = [];
        for (const entry of op.entries) {
          if (entry.delta !== undefined) {
            operations.push({ type: 'increment', key: entry.key, delta: entry.delta });
            ops.push({ type: 'increment', key: entry.key, delta: entry.delta });
          } else if (entry.value === undefined) {
            operations.push({ type: 'delete', key: entry.key });
            ops.push({ type: 'delete', key: entry.key });
          } else {
            operations.push({ type: 'put', key: entry.key, value: entry.value, ...ttlOptions(entry.ttl, nowMs) });
            ops.push(putOp(entry.key, entry.value, entry.ttl, nowMs));
          }
        }
        const checks = (op.checks ?? []).map(
          (check: CheckSpec): Check =>
            'absent' in check ? { key: check.key, absent: true } : { key: check.key, version: version(check.key, check.version) },
        );
        const options: BatchOptions | undefined = op.checks === undefined ? undefined : { checks };
        return { intent: { kind: 'batch', checks, ops }, call: (store) => store.batch(operations, options) };
      }
      case 'increment': {
        const options = op.ttl === undefined ? undefined : setTtl(op.ttl);
        const at = op.ttl === undefined ? undefined : expiresAt(op.ttl);
        return {
          intent: { kind: 'increment', checks: [], ops: [{ type: 'increment', key: op.key, delta: op.delta, expiresAt: at }] },
          call: (store) => store.increment(op.key, op.delta, options),
        };
      }
      case 'expire': {
        const expiry = op.ttl === null ? null : setTtl(op.ttl);
        const at = op.ttl === null ? 0 : expiresAt(op.ttl);
        return {
          intent: { kind: 'expire', checks: [], ops: [{ type: 'expire', key: op.key, expiresAt: at }] },
          call: (store) => store.expire(op.key, expiry),
        };
      }
    }
  }

  /**
   * Moves the simulated clock; the store reads it at once (as any read would), so its high-water
   * mark is what the model says. Writes the store resolves when it sequences them judge expiry by
   * the clock then: those in flight are let be sequenced first (settled: their answers are out), so
   * the model, which resolves each when it is issued, resolves it at the same time. Active
   * expiry's record in flight too: it looks again for keys due once it commits.
   */
  async #moveClock(stepMs: number): Promise<void> {
    await this.#expiryDone();
    const store = this.#store;
    const resolving = (write: ModelWrite) => write.status === 'pending' && isResolved(write.intent);
    await this.#until(() => store.state !== 'ready' || !this.#model.writes.some(resolving), 'writes resolved before the clock moves');
    this.#clock.advance(stepMs);
    this.#readClock();
    this.#model.clockMoved(this.#clock.now());
    this.#counts.data.clockSteps++;
    if (stepMs < 0) this.#counts.data.clockStepsBack++;
  }

  /** A range read of nothing: it reads the store's clock, and changes nothing. */
  #readClock(): void {
    this.#store.keys({ limit: 0 }).next();
  }

  /**
   * Runs active expiry now: its held timer fires, and it sends one record of deletes for the keys
   * it finds expired among those committed, each resolved when sequenced (a key written meanwhile
   * stays). The model predicts which. Writes in flight that set an expiry already due are let
   * commit first (active expiry would look again, at once, when its record commits, and find them).
   */
  async #sweep(): Promise<void> {
    await this.#expiryDone();
    const store = this.#store;
    if (store.state !== 'ready') return;
    await this.#until(
      () => store.state !== 'ready' || this.#model.dueExpiriesCommitted(store.stats().lastSeq),
      'writes before active expiry',
    );
    if (store.state !== 'ready') return;
    const write = this.#model.issueExpiry(store.stats().lastSeq);
    // The held timers are the open store's, and perhaps those of a store whose process lost power
    // (its code still runs: its expiry actor may sweep again, into a WAL that never answers).
    const fired = this.#timers.fire();
    this.#counts.data.sweeps++;
    if (fired === 0 && write !== undefined) throw new SimulationFailure('expiry-timers', 'no active expiry timer was pending');
    const found = write?.intent.ops.map((op) => ('version' in op ? `${op.key}@${op.version}` : '')).join(' ');
    this.#log(
      `   active expiry at ${this.#model.nowMs}: ${write === undefined ? 'no expired key' : `${found} expired, ${write.effects.length} to delete${write.seq === undefined ? '' : ` at seq ${write.seq}`}`}`,
    );
    if (write === undefined) return;
    this.#expiry = this.#watchExpiry(store, this.#process, write);
    this.#inFlight.push(this.#expiry);
  }

  /** Waits (bounded) until active expiry's record is committed, or the store failed, closed or lost power. */
  async #watchExpiry(store: Store, process: ProcessFileSystem, write: ModelWrite): Promise<void> {
    await this.#until(() => {
      if (process.dead || store.state === 'closed') return true;
      this.#model.observeCommitted(store.stats().lastSeq);
      return write.status !== 'pending' || store.state === 'failed';
    }, 'an active expiry record');
  }

  async #expiryDone(): Promise<void> {
    const expiry = this.#expiry;
    this.#expiry = undefined;
    if (expiry !== undefined) await expiry;
  }

  /** Waits up to `hangTurns` macrotask turns for `done`. */
  async #until(done: () => boolean, what: string): Promise<void> {
    for (let turn = 0; !done(); turn++) {
      if (turn >= hangTurns) throw new SimulationFailure('hang', `${what} did not settle`);
      await immediate();
    }
  }

  async #expectFailedRefusal(promise: Promise<unknown>, what: string): Promise<void> {
    try {
      await promise;
    } catch (error) {
      if (codeOf(error) === 'ERR_STORE_FAILED') return;
      this.#model.violations.push(new SimulationFailure('bad-rejection', `${what} rejected with ${describeError(error)}`));
      return;
    }
    this.#model.violations.push(new SimulationFailure('failed-store-acked', `${what} was acknowledged`));
  }

  #snapshot(): void {
    if (this.#store.state === 'failed') {
      this.#inFlight.push(this.#expectFailedRefusal(this.#store.snapshot(), 'snapshot on a failed store'));
      return;
    }
    const snapshot = this.#store.snapshot().then(
      (result) => this.#log(`   snapshot at seq ${result.seq} done`),
      (error: unknown) => {
        // A snapshot may fail on an injected fault (its write halts the store; a failed clean-up
        // after it is durable does not); either way with a typed error.
        if (codeOf(error) !== 'ERR_STORE_FAILED') {
          this.#model.violations.push(new SimulationFailure('bad-rejection', `snapshot rejected with ${describeError(error)}`));
        }
        this.#log(`   snapshot failed: ${describeError(error)}`);
      },
    );
    this.#snapshots.push(snapshot);
  }

  /** Waits for everything in flight; if the store is still healthy, reads must show every write. */
  async #settle(): Promise<void> {
    await this.#drain('writes and snapshots in flight');
    this.#model.throwViolations();
    if (this.#store.state !== 'ready') return;
    const model = this.#model;
    model.observeCommitted(this.#store.stats().lastSeq);
    const unsettled = model.writes.filter((write) => write.status !== 'acked').length;
    if (unsettled > 0) {
      throw new SimulationFailure(
        'unacked-on-healthy-store',
        `${unsettled} writes settled without acknowledgement on a store that is not failed`,
      );
    }
    this.#checkReads(model.observationOf(model.stateAfter(model.writes.length), model.tipSeq), 'after settle');
    this.#counts.data.expiredHidden += model.expiredStored();
  }

  async #drain(what: string): Promise<void> {
    const all = [...this.#inFlight, ...this.#snapshots];
    this.#inFlight = [];
    this.#snapshots = [];
    this.#expiry = undefined;
    await bounded(Promise.all(all), what);
  }

  /** With writes (and maybe a snapshot) in flight, reads show the acknowledged writes and a prefix of the rest (as far as the store's last seq). */
  #checkReadsInFlight(): void {
    const observed = this.#observe();
    if (this.#model.matchPrefix(observed) === undefined) {
      const model = this.#model;
      const expected = model.observationOf(model.stateAfter(model.ackedPrefix), model.seqAfter(model.ackedPrefix));
      throw new SimulationFailure(
        'bad-read',
        `with writes in flight, reads are not the acknowledged state plus a prefix of the rest: ${describeDifference(expected, observed)}`,
      );
    }
    this.#checkReadsAgree(observed, 'with writes in flight');
  }

  /** Reads through the store's API must equal `expected` exactly. */
  #checkReads(expected: Observation, when: string): void {
    const observed = this.#observe();
    if (!sameObservation(expected, observed)) {
      throw new SimulationFailure(
        'bad-read',
        `${when}: reads differ from the acknowledged state: ${describeDifference(expected, observed)}`,
      );
    }
    this.#checkReadsAgree(observed, when);
  }

  /**
   * What the store serves now: entries() with each key's getEntry (value, version, expiry), its
   * size and its last committed seq. Checks that entries() hides what is expired at the store's
   * clock (as the model has it) and that getEntry agrees with entries().
   */
  #observe(): Observation {
    const store = this.#store;
    const entries: Observation['entries'] = new Map();
    const nowMs = this.#model.nowMs;
    for (const [key, value] of store.entries()) {
      const entry = store.getEntry(key);
      if (entry === undefined || entry.value !== value) {
        throw new SimulationFailure(
          'bad-read',
          `getEntry(${key}) is ${JSON.stringify(entry)}, entries() has it as ${JSON.stringify(value)}`,
        );
      }
      const expiresAt = entry.expiresAt ?? 0;
      if (expiresAt !== 0 && expiresAt <= nowMs) {
        throw new SimulationFailure('expired-visible', `entries() shows ${key}, expired at ${expiresAt} (the store's clock is ${nowMs})`);
      }
      entries.set(key, { value, version: entry.version, expiresAt });
    }
    return { entries, size: store.size, lastSeq: store.stats().lastSeq };
  }

  /** get, has and getEntry of every key the model knows agree with entries(); keys() lists the same keys. */
  #checkReadsAgree(observed: Observation, when: string): void {
    const store = this.#store;
    for (const key of this.#model.keys()) {
      const entry = observed.entries.get(key);
      const got = store.getEntry(key);
      if (store.get(key) !== entry?.value || store.has(key) !== (entry !== undefined) || got?.version !== entry?.version) {
        throw new SimulationFailure('bad-read', `${when}: get(${key}) disagrees with entries()`);
      }
    }
    const keys = [...store.keys()];
    if (keys.length !== observed.entries.size || keys.some((key) => !observed.entries.has(key))) {
      throw new SimulationFailure('bad-read', `${when}: keys() lists ${keys.length} keys, entries() ${observed.entries.size}`);
    }
  }

  /**
   * The store went to 'failed' (an injected fault hit a write, fsync, rotation or snapshot): every
   * write in flight settles, none after the failure is acknowledged, new writes are refused with
   * ERR_STORE_FAILED, reads serve the acknowledged state; then close or crash, and reopen.
   */
  async #onStoreFailed(): Promise<void> {
    this.#counts.storeFailures++;
    this.#log(`   store failed (${this.#model.writes.length - this.#model.ackedPrefix} writes not acknowledged)`);
    await this.#drain('writes in flight on a failed store');
    this.#model.throwViolations();
    const store = this.#store;
    if (store.state !== 'failed') throw new SimulationFailure('state', `a failed store went to ${store.state}`);
    const refusals = [
      this.#expectFailedRefusal(store.put('probe', 'never'), 'put on a failed store'),
      this.#expectFailedRefusal(store.put('probe', 'never', { ifAbsent: true, ttlMs: 1 }), 'conditional put on a failed store'),
      this.#expectFailedRefusal(store.delete('probe'), 'delete on a failed store'),
      this.#expectFailedRefusal(store.batch([{ type: 'put', key: 'probe', value: 'never' }]), 'batch on a failed store'),
      this.#expectFailedRefusal(store.increment('probe', 1), 'increment on a failed store'),
      this.#expectFailedRefusal(store.expire('probe', null), 'expire on a failed store'),
      this.#expectFailedRefusal(store.snapshot(), 'snapshot on a failed store'),
    ];
    this.#model.noteRefused([{ key: 'probe', value: 'never' }]);
    await bounded(Promise.all(refusals), 'refusals of a failed store');
    this.#model.throwViolations();
    this.#model.storeFailed(store.stats().lastSeq);
    if (this.#model.writes.some((write) => write.status === 'pending')) {
      throw new SimulationFailure('hang', 'a write neither acknowledged nor rejected after the store failed');
    }
    const { ackedPrefix } = this.#model;
    this.#checkReads(
      this.#model.observationOf(this.#model.stateAfter(ackedPrefix), this.#model.seqAfter(ackedPrefix)),
      'on the failed store',
    );
    // Alternate the two ways out, deterministically.
    if (this.#counts.storeFailures % 2 === 0) await this.#crash(0, {});
    else await this.#closeAndReopen(undefined);
  }

  async #crash(afterCalls: number, reopen: { openCrashAfter?: number; flip?: number }): Promise<void> {
    const process = this.#process;
    if (afterCalls > 0) {
      process.armCrash(afterCalls);
      const everything = Promise.all([...this.#inFlight, ...this.#snapshots]);
      await Promise.race([process.crashed, bounded(everything, 'work in flight before a crash').catch(() => undefined)]);
    }
    if (this.#store.stats().snapshotInProgress) this.#counts.crashesDuringSnapshot++;
    process.crash();
    this.#powerLost();
    this.#model.crashed();
    this.#counts.crashes++;
    const pending = this.#model.writes.filter((write) => write.status === 'pending');
    for (const write of pending) this.#counts.data.unsettledAtPowerLoss[unsettledKind(write)]++;
    this.#log(
      `   power lost after ${process.calls} fs calls; ${this.#model.ackedPrefix} of ${this.#model.writes.length} writes acknowledged, ${pending.length} in flight`,
    );
    // The old store is abandoned: its promises may hang forever, nobody waits for them.
    this.#inFlight = [];
    this.#snapshots = [];
    this.#expiry = undefined;
    await this.#open(reopen);
  }

  async #closeAndReopen(flip: number | undefined, damage?: MediaDamage): Promise<void> {
    // Active expiry's record in flight commits first: nobody is answered for it at close.
    await this.#expiryDone();
    const store = this.#store;
    const wasFailed = store.state === 'failed';
    const faultsBefore = sumFaults(this.#faulty.stats());
    let closedCleanly = !wasFailed;
    try {
      await bounded(store.close(), 'close');
    } catch (error) {
      closedCleanly = false;
      if (error instanceof SimulationFailure) throw error;
      // An injected fault during close's final sync may surface here; it must be typed.
      if (codeOf(error) === undefined) throw new SimulationFailure('untyped-error', `close rejected with ${describeError(error)}`);
      this.#log(`   close rejected: ${describeError(error)}`);
    }
    if (store.state !== 'closed') throw new SimulationFailure('state', `after close the store is ${store.state}`);
    await this.#drain('writes in flight at close');
    this.#model.throwViolations();
    if (!wasFailed && this.#model.writes.some((write) => write.status === 'pending')) {
      throw new SimulationFailure('hang', 'close resolved with writes still pending');
    }
    this.#counts.reopens++;
    // A fault during close (a snapshot in flight failing, say) fails the store: no sync marker then.
    if (sumFaults(this.#faulty.stats()) > faultsBefore) closedCleanly = false;
    // Latent damage is only promised to be caught after a clean close: then a sync marker proves the WAL.
    if (damage !== undefined && closedCleanly && flip === undefined) return this.#openAfterMediaDamage(damage);
    await this.#open({ flip });
  }

  /**
   * Flips one bit of one store file on the disk itself, then opens. The rule: the open either
   * succeeds with every acknowledged write (checked as after any open), or refuses with
   * ERR_STORE_CORRUPT. Refused on a snapshot, repair must restore every acknowledged write from the
   * older generation; refused on the WAL, the flip is undone (no second copy exists) and the store
   * opens as before. Either way no damage is left for later steps.
   */
  async #openAfterMediaDamage(damage: MediaDamage): Promise<void> {
    const names = (await this.#disk.readdir(storeDir)).filter((name) => name !== 'LOCK');
    const name = names[damage.file % names.length];
    const filePath = `${storeDir}/${name}`;
    const before = this.#disk.durableFileBytes(filePath);
    if (before === undefined || before.byteLength === 0) return this.#open({});
    const offset = damage.at % before.byteLength;
    const mask = 1 << damage.bit;
    // The flip is this step's only fault: faults armed earlier would blur what the open is judged on.
    this.#faulty.clearFaults();
    this.#disk.corrupt(filePath, offset, mask);
    this.#counts.media.flips++;
    this.#log(`   a bit flips on disk: ${name} byte ${offset} ^ ${mask}`);
    const opened = await DurableKVStore.open(storeDir, this.#openOptions(this.#faulty)).then(
      (store) => ({ store }),
      (error: unknown) => ({ error }),
    );
    if ('store' in opened) {
      // Harmless: the open read past it (an older generation, a covered segment) or cut only a sync marker.
      await bounded(opened.store.close(), 'close after a harmless flip');
      this.#counts.media.harmless++;
      // One latent fault at a time: a second flip later could land in the generation this one spared.
      const after = this.#disk.durableFileBytes(filePath);
      if (after !== undefined && offset < after.byteLength && after[offset] === (before[offset] ^ mask)) {
        this.#disk.corrupt(filePath, offset, mask);
      }
      return this.#open({});
    }
    if (codeOf(opened.error) !== 'ERR_STORE_CORRUPT') {
      throw new SimulationFailure(
        'bad-open-error',
        `a media flip in ${name} at ${offset}: open rejected with ${describeError(opened.error)}`,
      );
    }
    this.#counts.media.refused++;
    if (name.endsWith('.snap')) {
      const { repaired } = await DurableKVStore.repair(storeDir, { fs: this.#faulty });
      if (repaired?.salvaged === undefined) {
        this.#counts.media.restoredByRepair++;
        this.#log(`   refused (${describeError(opened.error)}); repaired from the older generation`);
      } else {
        this.#checkSalvage(repaired.salvaged.lost, before, offset);
        this.#log(`   refused (${describeError(opened.error)}); salvaged, ${repaired.salvaged.lost.keys} entries lost`);
      }
    } else {
      this.#disk.corrupt(filePath, offset, mask);
      this.#log(`   refused (${describeError(opened.error)}); the flip undone`);
    }
    await this.#open({});
  }

  /**
   * A salvage (one generation) must lose exactly the entries of the block the flip landed in, as the
   * snapshot held them before the flip, and report them. Keys written again after the snapshot keep
   * their newer value; the others are forgotten by the model, and the next open is checked against it.
   */
  #checkSalvage(lost: LostEntries, snapshotBefore: Uint8Array, offset: number): void {
    const block = entriesBlockAt(snapshotBefore, offset);
    const keys = block?.entries.map(([key]) => key) ?? [];
    const reported = { keys: lost.keys, firstKey: lost.firstKey, lastKey: lost.lastKey };
    const expected = { keys: keys.length, firstKey: keys.at(0), lastKey: keys.at(-1) };
    if (JSON.stringify(reported) !== JSON.stringify(expected)) {
      throw new SimulationFailure(
        'salvage-report',
        `salvage reported ${JSON.stringify(reported)}, the damaged block held ${JSON.stringify(expected)}`,
      );
    }
    const snapshotSeq = Number(Buffer.from(snapshotBefore).readBigUInt64LE(snapshotHeaderSeqOffset));
    const forgotten = this.#model.forget(keys, snapshotSeq);
    this.#counts.media.salvaged++;
    this.#counts.media.salvageLostKeys += forgotten.length;
  }

  /**
   * Opens a new store on the same file system and verifies what it recovered. The open may lose
   * power itself, or fail on an injected fault or a bit flip (with a typed error, releasing the
   * lock); then the faults are cleared and it is opened again.
   */
  async #open(options: { openCrashAfter?: number; flip?: number }): Promise<void> {
    let crashAfter = options.openCrashAfter;
    if (options.flip !== undefined) this.#faulty.flipBitsOnReadProbability(options.flip);
    const flipsBefore = this.#faulty.stats().bitFlips;
    for (let attempt = 0; ; attempt++) {
      const faultsBefore = sumFaults(this.#faulty.stats());
      // Timers still held are of stores that are gone (a crashed process's): only the new store's fire.
      this.#timers.dropAll();
      const process = new ProcessFileSystem(this.#faulty);
      if (crashAfter !== undefined) process.armCrash(crashAfter);
      crashAfter = undefined;
      const opening = DurableKVStore.open(storeDir, this.#openOptions(process));
      const outcome = await Promise.race([
        bounded(opening, 'open').then(
          (store) => ({ store }),
          (error: unknown) => ({ error }),
        ),
        process.crashed.then(() => ({ crashed: true as const })),
      ]);
      if ('crashed' in outcome) {
        this.#powerLost();
        this.#counts.crashes++;
        this.#log('   power lost during open');
        continue;
      }
      if ('error' in outcome) {
        if (outcome.error instanceof SimulationFailure) throw outcome.error;
        const faultsDuring = sumFaults(this.#faulty.stats()) - faultsBefore;
        this.#checkOpenError(outcome.error, attempt, { faultsDuring, flipped: this.#faulty.stats().bitFlips > flipsBefore });
        this.#counts.failedOpens++;
        this.#log(`   open rejected: ${describeError(outcome.error)}; clearing faults`);
        this.#faulty.clearFaults();
        continue;
      }
      if (options.flip !== undefined) this.#faulty.clearFaults();
      process.armCrash(undefined); // a crash point the open did not reach is not for the store
      this.#process = process;
      this.#store = outcome.store as Store;
      // In a new process the store's high-water mark starts from the clock as it is now.
      this.#readClock();
      this.#model.opened(this.#clock.now(), this.#newProcess);
      this.#newProcess = false;
      this.#noteFaults();
      this.#verifyRecovery();
      return;
    }
  }

  /** The process is gone: the next one has a clock source of its own. */
  #powerLost(): void {
    this.#newProcess = true;
    this.#clockSource = () => this.#clock.now();
  }

  #openOptions(fs: FileSystem): StoreOptions {
    const { segmentBytesMax, autoSnapshotWalBytes, snapshotGenerations, snapshotBlockBytes } = this.#config;
    return {
      fs,
      sync: 'always',
      segmentBytesMax,
      snapshotGenerations,
      snapshotBlockBytes,
      autoSnapshot: autoSnapshotWalBytes === false ? false : { walBytes: autoSnapshotWalBytes },
      clock: this.#clockSource,
      expiryIntervalMs: simulatedExpiryIntervalMs,
    };
  }

  #checkOpenError(error: unknown, attempt: number, { faultsDuring, flipped }: { faultsDuring: number; flipped: boolean }): void {
    const code = codeOf(error);
    if (code === undefined) throw new SimulationFailure('untyped-error', `open rejected with ${describeError(error)}`);
    if (code === 'ERR_STORE_LOCKED')
      throw new SimulationFailure('lock-held', `open rejected: ${describeError(error)} (a failed or crashed open kept the lock)`);
    if (attempt > 3) throw new SimulationFailure('open-fails', `open keeps failing with faults cleared: ${describeError(error)}`);
    const allowed = flipped ? ['ERR_STORE_CORRUPT', 'ERR_STORE_FAILED', 'EIO', 'ENOSPC'] : ['ERR_STORE_FAILED', 'EIO', 'ENOSPC'];
    if (!allowed.includes(code)) {
      throw new SimulationFailure(
        code === 'ERR_STORE_CORRUPT' ? 'corrupt-without-flips' : 'bad-open-error',
        `open rejected with ${describeError(error)}`,
      );
    }
    if (faultsDuring === 0) throw new SimulationFailure('open-fails', `open failed with no fault injected: ${describeError(error)}`);
  }

  #verifyRecovery(): void {
    const store = this.#store;
    if (store.state !== 'ready') throw new SimulationFailure('state', `opened store is ${store.state}`);
    const recovered = this.#observe();
    const { acked } = this.#model.verifyRecovered(recovered);
    this.#checkReadsAgree(recovered, 'after recovery');
    this.#counts.data.expiredHidden += this.#model.expiredStored();
    this.#counts.ackedChecked += acked;
    const report = store.recoveryReport;
    if (report.tornTail !== undefined) this.#counts.tornTails++;
    if (report.snapshot !== undefined) this.#counts.snapshotsLoaded++;
    this.#log(
      `   recovered ${recovered.entries.size} live keys of ${recovered.size} up to seq ${recovered.lastSeq} (${acked} acknowledged writes checked)${report.tornTail ? `, torn tail cut at ${report.tornTail.file}:${report.tornTail.offset}` : ''}`,
    );
  }

  #noteFaults(): void {
    const total = sumFaults(this.#faulty.stats());
    if (total > this.#faultsSeen) this.#log(`   ${total - this.#faultsSeen} fault(s) fired`);
    this.#faultsSeen = total;
  }
}

export function sumFaults(stats: FaultStats): number {
  return Object.values(stats.failures).reduce((sum, n) => sum + n, 0) + stats.tornAppends + stats.bitFlips;
}

/** The kinds of write counted in flight at a power loss: a conditional one of any kind counts as 'conditional'. */
export type UnsettledKind = 'put' | 'delete' | 'batch' | 'deleteRange' | 'increment' | 'expire' | 'expiry' | 'conditional' | 'withExpiry';

function unsettledKinds(): Record<UnsettledKind, number> {
  return { put: 0, delete: 0, batch: 0, deleteRange: 0, increment: 0, expire: 0, expiry: 0, conditional: 0, withExpiry: 0 };
}

function unsettledKind(write: ModelWrite): UnsettledKind {
  if (write.intent.checks.length > 0) return 'conditional';
  const expiring = write.intent.ops.some((op) => op.type === 'putKeepTtl' || (op.type === 'put' && op.expiresAt !== 0));
  if ((write.kind === 'put' || write.kind === 'batch') && expiring) return 'withExpiry';
  return write.kind;
}

interface WriteCall {
  intent: Intent;
  call: (store: Store) => Promise<unknown>;
}

/** A put's intent: a plain put (with its expiry, or none), or one keeping the key's expiry. */
function putOp(key: string, value: string, ttl: TtlSpec | undefined, nowMs: number): IntentOp {
  if (ttl === undefined) return { type: 'put', key, value, expiresAt: 0 };
  if ('keepTtl' in ttl) return { type: 'putKeepTtl', key, value };
  return { type: 'put', key, value, expiresAt: 'ttlMs' in ttl ? nowMs + ttl.ttlMs : nowMs + ttl.expiresInMs };
}

/** The store's options for a TTL spec (`expiresAt` absolute, from the store's clock now). */
function ttlOptions(ttl: TtlSpec | undefined, nowMs: number): PutOptions {
  if (ttl === undefined) return {};
  if ('keepTtl' in ttl) return { keepTtl: true };
  if ('ttlMs' in ttl) return { ttlMs: ttl.ttlMs };
  return { expiresAt: nowMs + ttl.expiresInMs };
}

/** Whether the store resolves the write when it sequences it (rather than logging its ops as they are). */
function isResolved(intent: Intent): boolean {
  return intent.checks.length > 0 || intent.ops.some((op) => op.type !== 'put' && op.type !== 'delete' && op.type !== 'deleteRange');
}

/** The values a write would put, with their keys. */
function valuesOf(intent: Intent): Array<{ key: string; value: string }> {
  const values: Array<{ key: string; value: string }> = [];
  for (const op of intent.ops) if (op.type === 'put' || op.type === 'putKeepTtl') values.push({ key: op.key, value: op.value });
  return values;
}
