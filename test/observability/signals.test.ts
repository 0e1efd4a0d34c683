import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp-dir.js';
import { DurableKVStore, RollingMetrics, type StoreSignal } from '../../src/index.js';

async function writeConcurrently(store: DurableKVStore, count: number, inFlight: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < count) {
        const n = next++;
        await store.put(`k${n}`, `v${n}`);
      }
    }),
  );
}

describe('signals$', () => {
  it('starts with the recovery report of this open', async () => {
    const dir = await tempDir();
    const first = await DurableKVStore.open(dir);
    await first.put('a', '1');
    await first.close();
    const store = await DurableKVStore.open(dir);
    const seen: StoreSignal[] = [];
    const subscription = store.signals$.subscribe((signal) => seen.push(signal));
    expect(seen[0]).toMatchObject({ type: 'recovery', report: { recordsReplayed: 1 } });
    subscription.unsubscribe();
    await store.close();
  });

  it('reports group commits whose records add up to the writes, and one fsync signal per fsync under sync always', async () => {
    const store = await DurableKVStore.open(await tempDir(), { autoSnapshot: false });
    const groups: number[] = [];
    const fsyncRecords: number[] = [];
    store.signals$.subscribe((signal) => {
      if (signal.type === 'group-commit') groups.push(signal.records);
      if (signal.type === 'fsync') fsyncRecords.push(signal.records);
    });
    await writeConcurrently(store, 2_000, 64);
    const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);
    expect(sum(groups)).toBe(2_000);
    expect(sum(fsyncRecords)).toBe(2_000);
    // 64 writers in flight must share groups: fewer groups than writes.
    expect(groups.length).toBeLessThan(2_000);
    await store.close();
  });

  it('reports snapshot start and finish, and lifecycle transitions', async () => {
    const store = await DurableKVStore.open(await tempDir());
    const types: string[] = [];
    store.signals$.subscribe((signal) => types.push(signal.type === 'state' ? `state:${signal.state}` : signal.type));
    await store.put('a', '1');
    await store.snapshot();
    await store.close();
    // The last fsync is close's own: it makes writes under 'interval' and 'never' durable too.
    expect(types).toEqual([
      'recovery',
      'group-commit',
      'fsync',
      'snapshot-started',
      'snapshot-finished',
      'state:closing',
      'fsync',
      'state:closed',
    ]);
  });

  it('completes when the store closes', async () => {
    const store = await DurableKVStore.open(await tempDir());
    let completed = false;
    store.signals$.subscribe({ complete: () => (completed = true) });
    await store.close();
    expect(completed).toBe(true);
  });
});

describe('RollingMetrics', () => {
  it('counts writes and summarizes latencies and group commits from the streams', async () => {
    const store = await DurableKVStore.open(await tempDir(), { autoSnapshot: false });
    const metrics = new RollingMetrics(store, { windowMs: 60_000 });
    await writeConcurrently(store, 1_000, 32);
    await store.snapshot();
    const reading = metrics.read();
    metrics.stop();
    expect(reading.writeLatency.count).toBe(1_000);
    expect(reading.writeLatency.p50Ms).toBeGreaterThan(0);
    expect(reading.writeLatency.p99Ms).toBeGreaterThanOrEqual(reading.writeLatency.p50Ms);
    expect(reading.fsyncLatency.count).toBeGreaterThan(0);
    expect(reading.groupCommitRecords.mean * reading.groupCommitRecords.groups).toBeCloseTo(1_000);
    expect(reading.snapshots).toMatchObject({ started: 1, finished: 1, failed: 0 });
    expect(reading.walBytes).toBeGreaterThan(0);
    await store.close();
  });
});
