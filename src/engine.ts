import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { defer, filter, firstValueFrom, startWith, Subject, takeUntil, type Observable } from 'rxjs';
import type { EventEmitter } from 'eventemitter3';
import type { FileLock, FileSystem } from './fs/file-system.js';
import { lockStore } from './store-lock.js';
import { Bus, type Message, type WriteRequest } from './messages/index.js';
import type { DeleteRangeResult, EncodableOp, IncrementResult, SnapshotResult, WriteIntent, WriteKind, WriteResult } from './types.js';
import { Memtable, ReplayTarget } from './memtable/memtable.js';
import { MemtableActor } from './actors/memtable-actor.js';
import { SnapshotActor } from './actors/snapshot-actor.js';
import { WalActor } from './actors/wal-actor.js';
import { WriteSettler } from './wal/write-settler.js';
import { walRecordBytes, walRecordBytesBound } from './format/wal-format.js';
import { classifyDirectory } from './format/file-names.js';
import { ExpiryActor } from './actors/expiry-actor.js';
import { WallClock } from './clock.js';
import { recover, type RecoveryReport } from './recovery/recover.js';
import { scrub, type VerifyResult } from './recovery/scrub.js';
import { codecFor, type Codec } from './codec.js';
import { assert, InvalidArgumentError, ReplicationFailedError, StoreFailedError, StoreOverloadedError } from './errors.js';
import { GatedAcknowledger, type CommitGate } from './commit-gate.js';
import { decodeReplicationFrame } from './format/replication-frame.js';
import { backgroundLoadSliceMs, recordBytesMax } from './limits.js';
import type { ResolvedOptions } from './options.js';
import type { LifecycleSteps } from './lifecycle.js';
import type { OperationEvent, StoreEvents } from './events.js';
import type { StoreSignal } from './signals.js';
import { changeFeed, type Change } from './change-feed.js';

/** What the engine knows of an open store: `StoreStats` but for the public state. */
export interface EngineStats {
  keys: number;
  /** Seq of the last committed (durable, applied) record. */
  lastSeq: number;
  /** Seq the newest durable snapshot covers (0: none yet). */
  snapshotSeq: number;
  walBytes: number;
  walSegments: number;
  /** Writes waiting in the WAL mailbox. */
  pendingWrites: number;
  snapshotInProgress: boolean;
  /** Keys of the snapshot an open has not decoded yet: 0 once the background load is done. */
  keysLoading: number;
}

/** What runs once the store is open: the bus, the three actors and what settles each write. */
interface Running {
  bus: Bus;
  memtable: Memtable;
  wal: WalActor;
  snapshots: SnapshotActor;
  settler: WriteSettler;
  acknowledger: GatedAcknowledger;
  expiry: ExpiryActor;
}

/**
 * The one place replication reaches into the engine (see `replicationHook` in store.ts): it may hold
 * each committed group's acknowledgement, refuse the API's writes, and apply the leader's records.
 */
export interface ReplicationHook {
  /** Seq of the last committed record. */
  readonly lastSeq: number;
  /** Sees every committed group from now on, and may hold its acknowledgement (see `CommitGate`). */
  setCommitGate(gate: CommitGate | undefined): void;
  /**
   * Refuses the API's writes with `error` (a follower, a fenced leader), and pauses active expiry:
   * on a replica, expiry's deletes come from the leader. `undefined` takes writes again.
   */
  refuseWrites(error: Error | undefined): void;
  /**
   * Refuses the API's writes whose record would be larger than `bytes` (ERR_INVALID_ARG, nothing
   * written): a leader ships each record in one message. `undefined` lifts it. Replica writes and
   * active expiry (its records are small, see `expiryRecordKeyBytesMax`) are not limited.
   */
  limitRecordBytes(bytes: number | undefined): void;
  /**
   * Applies a frame the leader shipped (format/replication-frame.ts): each record becomes one local
   * record with the same seq. Frames must come in seq order, the first right after the store's last
   * record; call again before the last resolves to pipeline. Rejects with ERR_REPLICATION_FAILED
   * when the frame is damaged or out of order (nothing of it is applied then).
   */
  applyFrame(bytes: Uint8Array): Promise<{ firstSeq: number; lastSeq: number }>;
  /** Resolves once every write handed to the store before the call is committed and answered (refused ones too). */
  barrier(): Promise<void>;
  /** The store's directory and file system: for replication's own small file beside the store's. */
  readonly dir: string;
  readonly fs: FileSystem;
}

/**
 * The engine behind the facade: it does the work of each lifecycle state (lock, recovery, shutdown)
 * and turns calls into bus messages. It knows nothing of argument checking or public states.
 */
export class Engine implements LifecycleSteps {
  readonly dir: string;
  readonly options: ResolvedOptions;
  readonly codec: Codec<unknown>;
  /** What TTLs are measured against: the `clock` option, never going back. */
  readonly clock: WallClock;
  readonly operations = new Subject<OperationEvent>();
  readonly #signals = new Subject<StoreSignal>();
  /** Each subscriber first gets the recovery report, then live signals. */
  readonly signals$: Observable<StoreSignal> = defer(() => {
    const report = this.#recoveryReport;
    return report === undefined ? this.#signals : this.#signals.pipe(startWith<StoreSignal>({ type: 'recovery', report }));
  });
  readonly #events: EventEmitter<StoreEvents>;
  readonly #onFailure: (error: StoreFailedError) => void;
  #lock: FileLock | undefined;
  #running: Running | undefined;
  #recoveryReport: RecoveryReport | undefined;
  #nextSnapshotId = 1;
  #closing = false;
  #writeRefusal: Error | undefined;
  /** Seq the next applied replica record must have, while some are in flight (else the WAL's lastSeq + 1). */
  #replicaNextSeq = 0;
  #replicaWritesInFlight = 0;
  /** The largest record the API may write: less than the WAL's while a leader ships each record in one message. */
  #writeRecordBytesMax = recordBytesMax;
  /** Set once a replica write failed: every later frame is refused with it. */
  #replicaFailure: Error | undefined;

  constructor(dir: string, options: ResolvedOptions, events: EventEmitter<StoreEvents>, onFailure: (error: StoreFailedError) => void) {
    this.dir = path.resolve(dir);
    this.options = options;
    this.codec = codecFor(options.valueEncoding);
    this.clock = new WallClock(options.clock);
    this.#events = events;
    this.#onFailure = onFailure;
  }

  get memtable(): Memtable {
    assert(this.#running !== undefined, 'memtable read before recovery');
    return this.#running.memtable;
  }

  get recoveryReport(): RecoveryReport | undefined {
    return this.#recoveryReport;
  }

  /** The failure that ended writes for good, once the WAL (or a snapshot's I/O) failed. */
  get failure(): StoreFailedError | undefined {
    return this.#running?.wal.failure;
  }

  stats(): EngineStats {
    const running = this.#running;
    assert(running !== undefined, 'stats before recovery');
    const { wal, snapshots, memtable } = running;
    return {
      keys: memtable.size,
      lastSeq: wal.lastSeq,
      snapshotSeq: snapshots.lastSnapshotSeq,
      walBytes: wal.walBytes,
      walSegments: wal.segmentCount,
      pendingWrites: wal.pendingWrites,
      snapshotInProgress: snapshots.inProgress,
      keysLoading: memtable.pendingEntries,
    };
  }

  /** Committed changes with seq > `since`: history from the WAL on disk, then live (see `changeFeed`). */
  changes<V>(since: number): Observable<Change<V>> {
    const running = this.#running;
    assert(running !== undefined, 'changes before recovery');
    const { bus, wal } = running;
    return changeFeed<V>({ fs: this.options.fs, dir: this.dir, codec: this.codec, bus, lastSeq: () => wal.lastSeq }, since);
  }

  async acquire(): Promise<void> {
    await this.options.fs.mkdir(this.dir);
    this.#lock = await lockStore(this.options.fs, this.dir);
  }

  async recover(): Promise<void> {
    const { fs } = this.options;
    const retainCovered = this.options.walRetentionMs > 0;
    const { snapshotGenerations } = this.options;
    let replayTarget: ReplayTarget | undefined;
    const recovered = await recover({
      fs,
      dir: this.dir,
      fromBytes: this.codec.fromBytes,
      replayTarget: (map) => (replayTarget = new ReplayTarget(map)),
      mode: 'open',
      retainCovered,
      snapshotGenerations,
    });
    const bus = new Bus();
    // The snapshot blocks recovery left undecoded load on first touch, and all of them in the background.
    const memtable = new Memtable(recovered.map, replayTarget?.pending);
    const now = () => this.clock.now();
    new MemtableActor(bus, memtable, recovered.lastSeq, now); // lives on through its bus subscriptions
    const settler = new WriteSettler(recovered.lastSeq);
    // A refusal already in place (a fenced leader's NotLeaderError) says more than the rejection.
    const acknowledger = new GatedAcknowledger(settler, (error) => this.refuseWrites(this.#writeRefusal ?? error));
    const lookup = (key: string) => memtable.get(key);
    const binaryValues = this.options.valueEncoding === 'binary';
    const wal = new WalActor(bus, { ...this.options, dir: this.dir, lookup, binaryValues, now }, recovered, settler);
    const { snapshotBlockBytes } = this.options;
    const snapshots = new SnapshotActor(bus, { fs, dir: this.dir, snapshotGenerations, snapshotBlockBytes }, recovered.snapshotSeq);
    const expiry = new ExpiryActor(bus, memtable, { now, intervalMs: this.options.expiryIntervalMs }); // stops with the bus
    this.#running = { bus, memtable, wal, snapshots, settler, acknowledger, expiry };
    this.#wireEvents(this.#running);
    this.#wireSignals(this.#running);
    await wal.start();
    void loadInBackground(memtable, bus);
    this.#recoveryReport = recovered.report;
    if (recovered.report.tornTail !== undefined) this.#events.emit('torn-tail', recovered.report.tornTail);
    this.#events.emit('recovery', recovered.report);
  }

  async shutdown(): Promise<void> {
    const running = this.#running;
    this.#closing = true;
    try {
      if (running !== undefined) {
        await running.snapshots.idle();
        const failedBeforeClose = running.wal.failure !== undefined;
        // Groups replication still holds are answered (acked or rejected) before the final check.
        await running.wal
          .stop(() => running.acknowledger.idle())
          .catch((error: unknown) => {
            // A failure the store already reported is not news at close; a new one (the final fsync
            // of 'interval' or 'never' writes failing) is, and close() must reject with it.
            if (!failedBeforeClose) throw error;
          });
      }
    } finally {
      await this.release();
    }
  }

  async release(): Promise<void> {
    // After a failed open the WAL may already hold a segment open (and a timer): stop it too.
    await this.#running?.wal.stop().catch(() => undefined);
    this.#running?.bus.stop();
    const lock = this.#lock;
    this.#lock = undefined;
    await lock?.release();
  }

  /** The last seq applied: what a write that writes no record (an empty batch) resolves with. */
  get lastSeq(): number {
    return this.#running?.wal.lastSeq ?? 0;
  }

  /** The hook replication uses (see `ReplicationHook`). */
  get replication(): ReplicationHook {
    const engine = this;
    return {
      get lastSeq() {
        return engine.lastSeq;
      },
      setCommitGate: (gate) => {
        assert(this.#running !== undefined, 'commit gate before recovery');
        this.#running.acknowledger.gate = gate;
      },
      refuseWrites: (error) => this.refuseWrites(error),
      limitRecordBytes: (bytes) => {
        assert(
          bytes === undefined || (Number.isSafeInteger(bytes) && bytes > 0 && bytes <= recordBytesMax),
          'a record limit within the WAL limit',
        );
        this.#writeRecordBytesMax = bytes ?? recordBytesMax;
      },
      applyFrame: (bytes) => this.#applyFrame(bytes),
      // An intent that resolves to no record is answered after every record sequenced before it.
      barrier: () => this.#write('batch', [], { checks: [], ops: [] }).then(() => undefined),
      dir: this.dir,
      fs: this.options.fs,
    };
  }

  refuseWrites(error: Error | undefined): void {
    this.#writeRefusal = error;
    this.#running?.expiry.pause(error !== undefined);
  }

  /**
   * Queues one write (one WAL record); resolves once it is durable and applied. A write with an
   * `intent` is resolved into its ops when the WAL actor sequences it (and may write no record).
   */
  write<R extends WriteResult | DeleteRangeResult | IncrementResult = WriteResult>(
    kind: WriteKind,
    ops: EncodableOp[],
    intent?: WriteIntent,
  ): Promise<R> {
    if (this.#writeRefusal !== undefined) throw this.#writeRefusal;
    return this.#write(kind, ops, intent, this.#writeRecordBytesMax);
  }

  /** What a write of nothing (an empty batch) resolves with: refused as any write on a replica. */
  writeNothing(): Promise<WriteResult> {
    if (this.#writeRefusal !== undefined) return Promise.reject(this.#writeRefusal);
    return Promise.resolve({ ok: true, seq: this.lastSeq });
  }

  #applyFrame(bytes: Uint8Array): Promise<{ firstSeq: number; lastSeq: number }> {
    const running = this.#running;
    assert(running !== undefined, 'replica write before recovery');
    if (this.#replicaFailure !== undefined) return Promise.reject(this.#replicaFailure);
    const decoded = decodeReplicationFrame(bytes, this.codec.fromBytes);
    if (!decoded.ok) return Promise.reject(new ReplicationFailedError(`a damaged replication frame: ${decoded.reason}`));
    const { firstSeq, records } = decoded.frame;
    const lastSeq = firstSeq + records.length - 1;
    const nextSeq = this.#replicaWritesInFlight === 0 ? running.wal.lastSeq + 1 : this.#replicaNextSeq;
    if (firstSeq > nextSeq) {
      return Promise.reject(
        new ReplicationFailedError(`a replication frame starts at seq ${firstSeq}; the store's next seq is ${nextSeq}`),
      );
    }
    // The records the store already has (a crash kept part of an earlier frame) are skipped.
    const fresh = records.slice(nextSeq - firstSeq);
    if (fresh.length === 0) return Promise.resolve({ firstSeq, lastSeq });
    // All or none reach the mailbox: a refused record would hand its seq to the next one.
    if (!running.wal.hasRoomFor(fresh.length, bytes.byteLength)) {
      return Promise.reject(new StoreOverloadedError(`the WAL mailbox has no room for a replication frame of ${fresh.length} records`));
    }
    this.#replicaNextSeq = lastSeq + 1;
    this.#replicaWritesInFlight += fresh.length;
    const writes = fresh.map((ops, index) => this.#write('batch', ops).then((result) => this.#checkReplicaSeq(result, nextSeq + index)));
    return Promise.all(writes).then(
      () => ({ firstSeq, lastSeq }),
      (error: unknown) => {
        // A replica write that failed leaves the seqs after it unsure: no more frames are applied.
        this.#replicaFailure ??= new ReplicationFailedError(`a replica write failed: ${(error as Error).message}`, { cause: error });
        throw this.#replicaFailure;
      },
    );
  }

  /** Nothing but replication writes to a replica, in order: its seqs must be the leader's, or the store stops. */
  #checkReplicaSeq(result: WriteResult, leaderSeq: number): void {
    this.#replicaWritesInFlight--;
    const seq = result.ok ? result.seq : undefined;
    if (seq === leaderSeq) return;
    const error = new StoreFailedError(
      `replica record got seq ${seq}, the leader's is ${leaderSeq}: the replica's log is no longer the leader's`,
    );
    this.#running?.bus.publish({ type: 'wal.halt', error, during: 'replication' });
    throw error;
  }

  #write<R extends WriteResult | DeleteRangeResult | IncrementResult = WriteResult>(
    kind: WriteKind,
    ops: EncodableOp[],
    intent?: WriteIntent,
    recordBytesLimit = recordBytesMax,
  ): Promise<R> {
    const running = this.#running;
    assert(running !== undefined, 'write before recovery');
    const recordBytes = intent === undefined ? walRecordBytes(ops) : walRecordBytesBound(intent.ops);
    // Checked here for every write (a put's size is bounded by the options, a batch's is not).
    if (recordBytes > recordBytesLimit) {
      const what =
        recordBytesLimit === recordBytesMax ? 'WAL record limit' : "limit of one replication message (the NATS servers' max_payload)";
      throw new InvalidArgumentError(`the ${kind} is ${recordBytes} bytes, over the ${recordBytesLimit}-byte ${what}`);
    }
    const startedAtMs = this.operations.observed ? performance.now() : 0;
    return new Promise<R>((resolve, reject) => {
      const settle = resolve as (result: WriteResult | DeleteRangeResult | IncrementResult) => void;
      // Every field from the start, in one order: one object shape for every write on the hot path.
      const request: WriteRequest = {
        kind,
        ops,
        recordBytes,
        startedAtMs,
        resolve: settle,
        reject,
        intent,
        value: undefined,
        deleted: undefined,
      };
      running.bus.publish({ type: 'wal.append', request });
    });
  }

  /** Reads and checks every file of the running store (see `recovery/scrub.ts`); changes nothing. */
  async verify(): Promise<VerifyResult> {
    const running = this.#running;
    assert(running !== undefined, 'verify before recovery');
    return scrub(this.options.fs, this.dir, () => {
      const live = running.wal.liveSegment;
      return live === undefined ? undefined : { name: live.name, bytes: live.bytes };
    });
  }

  /** Runs a snapshot through the snapshot actor and waits for its result. */
  async snapshot(reason: 'manual' | 'auto'): Promise<SnapshotResult> {
    const running = this.#running;
    assert(running !== undefined, 'snapshot before recovery');
    const requestId = this.#nextSnapshotId++;
    const reply = firstValueFrom(
      running.bus.on('snapshot.completed', 'snapshot.failed').pipe(filter((message) => message.requestId === requestId)),
    );
    running.bus.publish({ type: 'snapshot.request', requestId, reason });
    const message = await reply;
    if (message.type === 'snapshot.failed') {
      throw running.wal.failure ?? new StoreFailedError(`snapshot failed: ${message.error.message}`, { cause: message.error });
    }
    return message.result;
  }

  /**
   * Writes a consistent copy of the store as of one seq into `toDir` (created if missing; it must
   * hold no store), while writes go on: see the snapshot actor's `#backup`.
   */
  async backup(toDir: string): Promise<SnapshotResult> {
    const running = this.#running;
    assert(running !== undefined, 'backup before recovery');
    const target = path.resolve(toDir);
    if (target === this.dir) throw new InvalidArgumentError('backup: toDir is the store itself');
    const { fs } = this.options;
    await fs.mkdir(target);
    const listing = classifyDirectory(await fs.readdir(target));
    if (listing.segments.length > 0 || listing.snapshots.length > 0) {
      throw new InvalidArgumentError(`backup: ${target} already holds a store; back up into an empty directory`);
    }
    // The new directories' own entries must be durable too, or a power loss could take the backup
    // with it: every ancestor is synced (mkdir may have created several).
    for (let dir = target; path.dirname(dir) !== dir; dir = path.dirname(dir)) await fs.syncDir(path.dirname(dir));
    const requestId = this.#nextSnapshotId++;
    const reply = firstValueFrom(
      running.bus.on('backup.completed', 'backup.failed').pipe(filter((message) => message.requestId === requestId)),
    );
    running.bus.publish({ type: 'backup.request', requestId, toDir: target });
    const message = await reply;
    if (message.type === 'backup.failed') throw message.error;
    return message.result;
  }

  /** Ends operations$ and signals$: called once the store is closed, after its last signal. */
  completeStreams(): void {
    this.operations.complete();
    this.#signals.complete();
  }

  /** Emits a signal only when someone listens: an unobserved stream costs one property read. */
  signal(make: () => StoreSignal): void {
    if (this.#signals.observed) this.#signals.next(make());
  }

  #wireSignals({ bus, wal }: Running): void {
    const on = <T extends Message['type']>(type: T) => bus.on(type).pipe(takeUntil(bus.stop$));
    on('wal.groupWritten').subscribe(({ records, bytes }) => {
      this.signal(() => ({ type: 'group-commit', records, bytes, walBytes: wal.walBytes }));
    });
    on('wal.synced').subscribe(({ records, latencyMs }) => this.signal(() => ({ type: 'fsync', records, latencyMs })));
    on('snapshot.started').subscribe(({ seq }) => this.signal(() => ({ type: 'snapshot-started', seq })));
    on('snapshot.completed').subscribe(({ result }) => this.signal(() => ({ type: 'snapshot-finished', result })));
    on('snapshot.failed').subscribe(({ error }) => this.signal(() => ({ type: 'snapshot-failed', error })));
  }

  #wireEvents({ bus, wal, snapshots, acknowledger }: Running): void {
    bus
      .on('memtable.applied')
      .pipe(takeUntil(bus.stop$))
      .subscribe(({ run }) => {
        const { firstSeq, requests } = run;
        acknowledger.commit(run);
        if (!this.operations.observed) return;
        requests.forEach((request, index) => {
          if (request.startedAtMs !== 0) this.operations.next(operationEvent(firstSeq + index, request));
        });
      });
    bus
      .on('wal.failed')
      .pipe(takeUntil(bus.stop$))
      .subscribe(({ error }) => {
        this.#onFailure(error);
      });
    bus
      .on('snapshot.completed')
      .pipe(takeUntil(bus.stop$))
      .subscribe(({ result }) => {
        this.#events.emit('snapshot', result);
        if (this.operations.observed) {
          this.operations.next({ type: 'snapshot', seq: result.seq, durationMs: result.durationMs, bytes: result.bytes });
        }
      });
    bus
      .on('wal.groupWritten')
      .pipe(takeUntil(bus.stop$))
      .subscribe(() => {
        const threshold = this.options.autoSnapshotWalBytes;
        if (threshold === undefined || this.#closing || snapshots.inProgress || wal.failure !== undefined) return;
        if (wal.walBytes < threshold) return;
        this.snapshot('auto').catch((error: Error) => {
          // A store failure was already reported as 'error' when it happened.
          if (error !== wal.failure) this.#events.emit('error', error);
        });
      });
  }
}

function operationEvent(seq: number, request: WriteRequest): OperationEvent {
  const durationMs = performance.now() - request.startedAtMs;
  const bytes = request.recordBytes;
  if (request.kind === 'batch') return { type: 'batch', count: request.ops.length, seq, durationMs, bytes };
  const [op] = request.ops;
  if (op.type === 'deleteRange' || request.kind === 'deleteRange') return { type: 'deleteRange', seq, durationMs, bytes };
  return { type: request.kind, key: op.key, seq, durationMs, bytes };
}

/**
 * Decodes the snapshot blocks an open left pending, a slice per event-loop turn, so reads and writes
 * run between slices; stops when the store closes. Reads and writes that touch a pending block load
 * it themselves meanwhile (see `PendingBlocks`).
 */
async function loadInBackground(memtable: Memtable, bus: Bus): Promise<void> {
  let stopped = false;
  bus.stop$.subscribe(() => (stopped = true));
  while (!stopped && memtable.loadSlice(performance.now() + backgroundLoadSliceMs)) {
    await new Promise((resolve) => setImmediate(resolve));
  }
}
