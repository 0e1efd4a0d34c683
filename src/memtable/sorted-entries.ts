/**
 * A frozen map's entries in key order (UTF-8 bytes), for a snapshot when the ordered index is not
 * built, without stalling the event loop: sorting a million keys in one go takes a quarter of a
 * second. The keys are cut into runs of `sortRunKeys`, each sorted on its own turn (radix sort,
 * `sortedOrder`), then merged lazily through a heap while the caller writes them out.
 */
import { assert } from '../errors.js';
import { sortRunKeys } from '../limits.js';
import { compareKeys, compareUnits, hasHighUnits, sortedOrder } from './key-order.js';

/**
 * Every entry of `map` (which nobody writes meanwhile) in key order, in batches of up to
 * `sortRunKeys` (an await per batch, not per entry); `pause` is awaited between runs while sorting.
 */
export async function* sortedEntryBatches<V>(map: ReadonlyMap<string, V>, pause: () => Promise<void>): AsyncGenerator<Array<[string, V]>> {
  const { runs, lowOnly } = await sortedRuns(map, pause);
  const heads = new RunHeap(runs, lowOnly ? compareUnits : compareKeys);
  let batch: Array<[string, V]> = [];
  for (let run = heads.top(); run !== undefined; run = heads.advance()) {
    const key = run.keys[run.at];
    const value = map.get(key);
    assert(value !== undefined, 'a frozen map keeps every key while it is walked');
    batch.push([key, value]);
    if (batch.length === sortRunKeys) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

/** A sync iterable (the ordered index's snapshot) in the same batches. */
export async function* entryBatches<V>(entries: Iterable<[string, V]>): AsyncGenerator<Array<[string, V]>> {
  let batch: Array<[string, V]> = [];
  for (const entry of entries) {
    batch.push(entry);
    if (batch.length === sortRunKeys) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

interface Run {
  keys: string[];
  at: number;
}

async function sortedRuns<V>(map: ReadonlyMap<string, V>, pause: () => Promise<void>): Promise<{ runs: Run[]; lowOnly: boolean }> {
  const unsorted: string[][] = [];
  let current: string[] = [];
  let lowOnly = true;
  for (const key of map.keys()) {
    if (lowOnly && hasHighUnits(key)) lowOnly = false;
    current.push(key);
    if (current.length === sortRunKeys) {
      unsorted.push(current);
      current = [];
      await pause();
    }
  }
  if (current.length > 0) unsorted.push(current);
  const runs: Run[] = [];
  for (const keys of unsorted) {
    const order = sortedOrder(keys, lowOnly);
    const sorted = new Array<string>(keys.length);
    for (let i = 0; i < keys.length; i++) sorted[i] = keys[order[i]];
    runs.push({ keys: sorted, at: 0 });
    await pause();
  }
  return { runs, lowOnly };
}

/** A binary min-heap of runs by their current key: the merge's next entry is the top run's. */
class RunHeap {
  readonly #heap: Run[];
  readonly #compare: (a: string, b: string) => number;

  constructor(runs: Run[], compare: (a: string, b: string) => number) {
    this.#heap = runs.filter((run) => run.keys.length > 0);
    this.#compare = compare;
    for (let i = (this.#heap.length >> 1) - 1; i >= 0; i--) this.#siftDown(i);
  }

  top(): Run | undefined {
    return this.#heap[0];
  }

  /** Moves the top run past its current key; returns the new top. */
  advance(): Run | undefined {
    const heap = this.#heap;
    const top = heap[0];
    top.at++;
    if (top.at === top.keys.length) {
      const last = heap.pop() as Run;
      if (heap.length === 0) return undefined;
      if (last !== top) heap[0] = last;
    }
    this.#siftDown(0);
    return heap[0];
  }

  #less(a: Run, b: Run): boolean {
    return this.#compare(a.keys[a.at], b.keys[b.at]) < 0;
  }

  #siftDown(index: number): void {
    const heap = this.#heap;
    for (let i = index; ; ) {
      const left = 2 * i + 1;
      if (left >= heap.length) return;
      const right = left + 1;
      const child = right < heap.length && this.#less(heap[right], heap[left]) ? right : left;
      if (!this.#less(heap[child], heap[i])) return;
      [heap[i], heap[child]] = [heap[child], heap[i]];
      i = child;
    }
  }
}
