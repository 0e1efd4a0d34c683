import { build, type Histogram } from 'hdr-histogram-js';
import { Subscription } from 'rxjs';
import type { Observable } from 'rxjs';
import type { OperationEvent } from '../events.js';
import type { StoreSignal } from '../signals.js';

/** What a store offers to be measured: its operations and its signals. */
export interface Measurable {
  readonly operations$: Observable<OperationEvent>;
  readonly signals$: Observable<StoreSignal>;
}

export interface LatencySummary {
  count: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** Figures over the last complete window (or the window so far, before the first one ends). */
export interface MetricsReading {
  windowMs: number;
  writesPerSecond: number;
  writeLatency: LatencySummary;
  fsyncLatency: LatencySummary;
  /** Records per group commit: how many writes share one WAL write (and, under sync 'always', one fsync). */
  groupCommitRecords: { groups: number; mean: number; max: number };
  walBytes: number;
  snapshots: { started: number; finished: number; failed: number; lastDurationMs: number | undefined };
}

class Window {
  readonly startedAtMs = performance.now();
  readonly writeLatencyUs: Histogram = latencyHistogram();
  readonly fsyncLatencyUs: Histogram = latencyHistogram();
  writes = 0;
  groups = 0;
  groupRecords = 0;
  groupRecordsMax = 0;
}

function latencyHistogram(): Histogram {
  // Microseconds, 3 significant digits, up to an hour: enough for any fsync a disk can take.
  return build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });
}

/**
 * Rolling figures from a store's streams — writes/s, write and fsync latency percentiles (with
 * hdr-histogram-js, the HdrHistogram port, so percentiles are exact to 3 digits at any rate), group
 * commit sizes — over windows of `windowMs`. Call `read()` whenever you export; `stop()` when done.
 */
export class RollingMetrics {
  readonly #windowMs: number;
  readonly #subscription = new Subscription();
  readonly #timer: NodeJS.Timeout;
  #current = new Window();
  #previous: Window | undefined;
  #walBytes = 0;
  #snapshots = { started: 0, finished: 0, failed: 0, lastDurationMs: undefined as number | undefined };

  constructor(store: Measurable, options: { windowMs?: number } = {}) {
    this.#windowMs = options.windowMs ?? 10_000;
    this.#subscription.add(store.operations$.subscribe((operation) => this.#onOperation(operation)));
    this.#subscription.add(store.signals$.subscribe((signal) => this.#onSignal(signal)));
    this.#timer = setInterval(() => this.#rotate(), this.#windowMs);
    this.#timer.unref();
  }

  read(): MetricsReading {
    const window = this.#previous ?? this.#current;
    const elapsedMs = this.#previous ? this.#windowMs : Math.max(1, performance.now() - window.startedAtMs);
    return {
      windowMs: elapsedMs,
      writesPerSecond: (window.writes * 1000) / elapsedMs,
      writeLatency: summarize(window.writeLatencyUs),
      fsyncLatency: summarize(window.fsyncLatencyUs),
      groupCommitRecords: {
        groups: window.groups,
        mean: window.groups === 0 ? 0 : window.groupRecords / window.groups,
        max: window.groupRecordsMax,
      },
      walBytes: this.#walBytes,
      snapshots: { ...this.#snapshots },
    };
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#subscription.unsubscribe();
  }

  #rotate(): void {
    this.#previous = this.#current;
    this.#current = new Window();
  }

  #onOperation(operation: OperationEvent): void {
    if (operation.type === 'snapshot') return;
    this.#current.writes++;
    this.#current.writeLatencyUs.recordValue(Math.max(1, Math.round(operation.durationMs * 1000)));
  }

  #onSignal(signal: StoreSignal): void {
    const window = this.#current;
    switch (signal.type) {
      case 'group-commit':
        window.groups++;
        window.groupRecords += signal.records;
        window.groupRecordsMax = Math.max(window.groupRecordsMax, signal.records);
        this.#walBytes = signal.walBytes;
        break;
      case 'fsync':
        window.fsyncLatencyUs.recordValue(Math.max(1, Math.round(signal.latencyMs * 1000)));
        break;
      case 'snapshot-started':
        this.#snapshots.started++;
        break;
      case 'snapshot-finished':
        this.#snapshots.finished++;
        this.#snapshots.lastDurationMs = signal.result.durationMs;
        break;
      case 'snapshot-failed':
        this.#snapshots.failed++;
        break;
      default:
        break;
    }
  }
}

function summarize(histogram: Histogram): LatencySummary {
  const count = histogram.totalCount;
  if (count === 0) return { count, p50Ms: 0, p99Ms: 0, maxMs: 0 };
  return {
    count,
    p50Ms: histogram.getValueAtPercentile(50) / 1000,
    p99Ms: histogram.getValueAtPercentile(99) / 1000,
    maxMs: histogram.maxValue / 1000,
  };
}
