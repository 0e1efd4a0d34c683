import { takeUntil } from 'rxjs';
import { performance } from 'node:perf_hooks';
import type { Bus, CommittedRun } from '../messages/index.js';
import type { Memtable } from '../memtable/memtable.js';
import { ExpiryHeap } from '../memtable/expiry-heap.js';
import type { IntentOp } from '../types.js';
import { walRecordBytesBound } from '../format/wal-format.js';
import {
  expiryHeapSlackEntries,
  expiryRecordKeyBytesMax,
  expiryRecordKeysMax,
  expiryRecordsInFlightMax,
  expirySliceMs,
} from '../limits.js';

/** A key active expiry found expired, with the expiry it had. */
interface DueDelete {
  op: Extract<IntentOp, { type: 'deleteIfExpired' }>;
  expiresAt: number;
}

export interface ExpiryOptions {
  /** The store's clock (epoch ms, never going back). */
  now: () => number;
  intervalMs: number;
}

/**
 * Active expiry: removes keys whose time has passed, so a store of short-lived keys does not grow
 * without bound while nobody reads them. Reads hide an expired key the moment its time passes;
 * this only frees it, within about `intervalMs`.
 *
 * It keeps a min-heap of (expiresAt, key), fed by every committed write that sets an expiry. Every
 * `intervalMs` it pops what is due, in slices of at most `expirySliceMs`, and sends each slice to
 * the WAL as one record of `deleteIfExpired` ops: the WAL actor resolves each against the state
 * when it is sequenced (a key rewritten meanwhile has a new version and stays), and the record
 * holds plain deletes marked expired. At most `expiryRecordsInFlightMax` records wait at once.
 */
export class ExpiryActor {
  readonly #bus: Bus;
  readonly #memtable: Memtable;
  readonly #options: ExpiryOptions;
  readonly #heap = new ExpiryHeap();
  #timer: NodeJS.Timeout | undefined;
  #inFlight = 0;
  #stopped = false;
  /** On a replica: its expiry deletes come from the leader's log. Keys are still tracked meanwhile. */
  #paused = false;
  /** A record was refused since the last interval tick: wait for the next one rather than spin. */
  #refused = false;

  constructor(bus: Bus, memtable: Memtable, options: ExpiryOptions) {
    this.#bus = bus;
    this.#memtable = memtable;
    this.#options = options;
    this.#rebuild();
    bus
      .on('memtable.applied')
      .pipe(takeUntil(bus.stop$))
      .subscribe(({ run }) => this.#track(run));
    // A failed store takes no more writes: the keys stay hidden from reads, and the next open removes them.
    bus
      .on('wal.failed')
      .pipe(takeUntil(bus.stop$))
      .subscribe(() => this.stop());
    bus.stop$.subscribe(() => this.stop());
    this.#schedule();
  }

  /** Keys waiting in the heap (stale entries included): for stats and tests. */
  get tracked(): number {
    return this.#heap.size;
  }

  /** Stops (or restarts) sending deletes, keeping the heap up to date: a replica's are the leader's. */
  pause(paused: boolean): void {
    this.#paused = paused;
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  #track({ requests }: CommittedRun): void {
    for (const request of requests) {
      for (const op of request.ops) {
        if ((op.type === 'put' || op.type === 'expire') && op.expiresAt !== 0) this.#heap.push(op.expiresAt, op.key);
      }
    }
  }

  /** Refills the heap from the memtable: at open, and when stale entries have piled up. */
  #rebuild(): void {
    this.#heap.clear();
    // Without loading pending snapshot blocks: they hold no entry with an expiry (recovery loads those).
    for (const [key, entry] of this.#memtable.loadedEntries()) if (entry.expiresAt !== 0) this.#heap.push(entry.expiresAt, key);
  }

  #schedule(): void {
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#sweep(true), this.#options.intervalMs);
    this.#timer.unref();
  }

  /**
   * Sends the keys due now as one record, and goes on in the next turn while more are due and fewer
   * than the most records are in flight: one slice per turn, so writers and reads get turns between.
   */
  #sweep(onTick = false): void {
    if (this.#stopped) return;
    if (this.#paused) {
      this.#schedule();
      return;
    }
    if (onTick) this.#refused = false;
    if (this.#refused) return; // the timer is set: the next tick tries again
    if (this.#heap.size > 2 * this.#memtable.size + expiryHeapSlackEntries) this.#rebuild();
    if (this.#inFlight < expiryRecordsInFlightMax) {
      const due = this.#dueSlice();
      if (due.length > 0) {
        this.#send(due);
        if (!this.#refused && this.#due()) setImmediate(() => this.#sweep());
      }
    }
    this.#schedule();
  }

  #due(): boolean {
    return this.#heap.size > 0 && this.#heap.peekTime() <= this.#options.now();
  }

  /**
   * Pops due keys until the slice's time, key count or key bytes run out; skips entries a later
   * write made stale. Each op keeps the expiry it was popped with, to push back if the record is refused.
   */
  #dueSlice(): DueDelete[] {
    const nowMs = this.#options.now();
    const deadlineMs = performance.now() + expirySliceMs;
    const due: DueDelete[] = [];
    let keyBytes = 0;
    while (
      due.length < expiryRecordKeysMax &&
      keyBytes < expiryRecordKeyBytesMax &&
      this.#heap.size > 0 &&
      this.#heap.peekTime() <= nowMs
    ) {
      const key = this.#heap.popKey();
      const entry = this.#memtable.get(key);
      if (entry !== undefined && entry.expiresAt !== 0 && entry.expiresAt <= nowMs) {
        const op: IntentOp = { type: 'deleteIfExpired', key, keyBytes: Buffer.byteLength(key, 'utf8'), version: entry.version };
        due.push({ op, expiresAt: entry.expiresAt });
        keyBytes += op.keyBytes;
      }
      if ((due.length & 255) === 0 && performance.now() >= deadlineMs) break;
    }
    return due;
  }

  #send(due: DueDelete[]): void {
    this.#inFlight++;
    const ops = due.map(({ op }) => op);
    const done = () => {
      this.#inFlight--;
      // More may be due already: go on at once rather than a whole interval later.
      if (!this.#stopped && !this.#refused && this.#due()) setImmediate(() => this.#sweep());
    };
    const refused = () => {
      this.#inFlight--;
      this.#refused = true;
      // Refused (a full mailbox, closing, failed): the keys go back, and the next interval tries again.
      for (const { op, expiresAt } of due) this.#heap.push(expiresAt, op.key);
    };
    this.#bus.publish({
      type: 'wal.append',
      request: {
        kind: 'batch',
        ops: [],
        intent: { checks: [], ops },
        recordBytes: walRecordBytesBound(ops),
        startedAtMs: 0,
        resolve: done,
        reject: refused,
      },
    });
  }
}
