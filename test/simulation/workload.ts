/**
 * Runs one simulation: a seed's op list against a DurableKVStore on a MemoryFileSystem wrapped in a
 * FaultyFileSystem, checking the store against the model (model.ts) after every crash, reopen,
 * fault and settle. Deterministic: the same seed and op list replay the same run, call for call
 * (everything is in memory and resolves in microtasks; no timers are involved with sync: 'always').
 */
import { DurableKVStore } from '../../src/store.js';
import type { StoreOptions } from '../../src/options.js';
import type { FileSystem } from '../../src/fs/file-system.js';
import { FaultyFileSystem, MemoryFileSystem, type FaultStats } from '../../src/testing/index.js';
import { codeOf } from '../helpers/errors.js';
import { Model, SimulationFailure, describeDifference, sameState } from './model.js';
import { formatOp, rangeEntryKey, type BatchEntry, type MediaDamage, type SimConfig, type SimOp } from './ops.js';
import { ProcessFileSystem } from './process-file-system.js';
import { entriesBlockAt } from './snapshot-blocks.js';
import type { LostEntries } from '../../src/format/snapshot-salvage.js';

export const storeDir = '/db';

/** Macrotask turns an operation may take before it counts as hung (everything here is microtasks). */
const hangTurns = 200;

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

export async function runSimulation(seed: number, config: SimConfig, ops: readonly SimOp[], options: RunOptions = {}): Promise<SimResult> {
  const run = new SimulationRun(seed, config, options);
  let step = 0;
  try {
    await run.start();
    for (; step < ops.length; step++) await run.step(ops[step], step);
    step = ops.length;
    await run.finish();
    return { ok: true, stats: run.stats() };
  } catch (error) {
    const failure =
      error instanceof SimulationFailure
        ? error
        : new SimulationFailure('exception', `${describeError(error)}\n${(error as Error).stack ?? ''}`);
    return { ok: false, stats: run.stats(), failure, step };
  }
}

class SimulationRun {
  readonly #config: SimConfig;
  readonly #log: (line: string) => void;
  readonly #faulty: FaultyFileSystem;
  readonly #model = new Model();
  #process!: ProcessFileSystem;
  #store!: Store;
  /** Snapshots in flight on the current store. */
  #snapshots: Promise<unknown>[] = [];
  /** Writes in flight on the current store (the model tracks what they mean). */
  #inFlight: Promise<unknown>[] = [];
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
  };
  #faultsSeen = 0;
  readonly #disk: MemoryFileSystem;

  constructor(seed: number, config: SimConfig, options: RunOptions) {
    this.#config = config;
    this.#log = options.log ?? (() => undefined);
    // The disk's own seed picks which unsynced overwritten sectors a crash keeps: replayable from the run's seed.
    this.#disk = options.disk?.() ?? new MemoryFileSystem({ seed });
    this.#faulty = new FaultyFileSystem({ inner: this.#disk, seed });
  }

  stats(): SimStats {
    return { ...this.#counts, media: { ...this.#counts.media }, acked: this.#model.ackedTotal, faults: this.#faulty.stats() };
  }

  async start(): Promise<void> {
    this.#log(`config ${JSON.stringify(this.#config)}`);
    await this.#open({});
  }

  async step(op: SimOp, index: number): Promise<void> {
    this.#counts.steps++;
    this.#log(`${index + 1}. ${formatOp(op)}`);
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
        return this.#write('put', [{ key: op.key, value: op.value }], (store) => store.put(op.key, op.value));
      case 'delete':
        return this.#write('delete', [{ key: op.key }], (store) => store.delete(op.key));
      case 'deleteRange':
        return this.#write('deleteRange', [{ key: rangeEntryKey, range: op.range }], (store) => store.deleteRange(op.range));
      case 'batch':
        return this.#write('batch', op.entries, (store) =>
          store.batch(
            op.entries.map((entry) =>
              entry.value === undefined
                ? { type: 'delete' as const, key: entry.key }
                : { type: 'put' as const, key: entry.key, value: entry.value },
            ),
          ),
        );
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

  #write(kind: 'put' | 'delete' | 'batch' | 'deleteRange', entries: BatchEntry[], call: (store: Store) => Promise<unknown>): void {
    if (this.#store.state === 'failed') {
      // Refused at once; its value must never appear anywhere.
      this.#model.noteRefused(entries);
      this.#inFlight.push(this.#expectFailedRefusal(call(this.#store), `${kind} on a failed store`));
      return;
    }
    const { ack, reject } = this.#model.issue(kind, entries);
    this.#inFlight.push(call(this.#store).then(ack, reject));
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
    const { writes, ackedPrefix } = this.#model;
    if (ackedPrefix !== writes.length) {
      throw new SimulationFailure(
        'unacked-on-healthy-store',
        `${writes.length - ackedPrefix} writes settled without acknowledgement on a store that is not failed`,
      );
    }
    this.#checkReads(this.#model.stateAfter(ackedPrefix), 'after settle');
  }

  async #drain(what: string): Promise<void> {
    const all = [...this.#inFlight, ...this.#snapshots];
    this.#inFlight = [];
    this.#snapshots = [];
    await bounded(Promise.all(all), what);
  }

  /** With writes (and maybe a snapshot) in flight, reads show the acknowledged writes and a prefix of the rest. */
  #checkReadsInFlight(): void {
    const entries = new Map(this.#store.entries());
    if (this.#model.matchPrefix(entries) === undefined) {
      const expected = this.#model.stateAfter(this.#model.ackedPrefix);
      throw new SimulationFailure(
        'bad-read',
        `with writes in flight, entries() are not the acknowledged state plus a prefix of the rest: ${describeDifference(expected, entries)}`,
      );
    }
  }

  /** Reads through the store's API must equal `expected` exactly. */
  #checkReads(expected: Map<string, string>, when: string): void {
    const store = this.#store;
    const entries = new Map(store.entries());
    if (!sameState(expected, entries)) {
      throw new SimulationFailure(
        'bad-read',
        `${when}: entries() differ from the acknowledged state: ${describeDifference(expected, entries)}`,
      );
    }
    if (store.size !== expected.size) throw new SimulationFailure('bad-read', `${when}: size ${store.size}, expected ${expected.size}`);
    for (const key of this.#model.keys()) {
      if (store.get(key) !== expected.get(key) || store.has(key) !== expected.has(key)) {
        throw new SimulationFailure('bad-read', `${when}: get(${key}) disagrees with entries()`);
      }
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
      this.#expectFailedRefusal(store.delete('probe'), 'delete on a failed store'),
      this.#expectFailedRefusal(store.batch([{ type: 'put', key: 'probe', value: 'never' }]), 'batch on a failed store'),
      this.#expectFailedRefusal(store.snapshot(), 'snapshot on a failed store'),
    ];
    this.#model.noteRefused([{ key: 'probe', value: 'never' }]);
    await bounded(Promise.all(refusals), 'refusals of a failed store');
    this.#model.throwViolations();
    if (this.#model.writes.some((write) => write.status === 'pending')) {
      throw new SimulationFailure('hang', 'a write neither acknowledged nor rejected after the store failed');
    }
    this.#checkReads(this.#model.stateAfter(this.#model.ackedPrefix), 'on the failed store');
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
    this.#model.crashed();
    this.#counts.crashes++;
    this.#log(
      `   power lost after ${process.calls} fs calls; ${this.#model.ackedPrefix} of ${this.#model.writes.length} writes acknowledged`,
    );
    // The old store is abandoned: its promises may hang forever, nobody waits for them.
    this.#inFlight = [];
    this.#snapshots = [];
    await this.#open(reopen);
  }

  async #closeAndReopen(flip: number | undefined, damage?: MediaDamage): Promise<void> {
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
    const state = this.#model.settledState();
    const forgotten = (block?.entries ?? []).filter(([key, value]) => state.get(key) === value).map(([key]) => key);
    this.#model.forget(forgotten);
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
      this.#noteFaults();
      this.#verifyRecovery();
      return;
    }
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
    const recovered = new Map(store.entries());
    const { acked } = this.#model.verifyRecovered(recovered);
    this.#counts.ackedChecked += acked;
    const report = store.recoveryReport;
    if (report.tornTail !== undefined) this.#counts.tornTails++;
    if (report.snapshot !== undefined) this.#counts.snapshotsLoaded++;
    this.#log(
      `   recovered ${recovered.size} keys (${acked} acknowledged writes checked)${report.tornTail ? `, torn tail cut at ${report.tornTail.file}:${report.tornTail.offset}` : ''}`,
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
