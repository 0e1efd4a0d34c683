/**
 * A pipeline consumer on the change feed that resumes from its last seq after a restart.
 *
 *   npm run example:change-feed
 *
 * The producer writes orders to one store. The consumer keeps a running revenue total in its own
 * store, together with the seq of the last change it processed — in one atomic batch, so after any
 * crash its total and its checkpoint agree. It stops half-way, more orders arrive, and on restart
 * it resumes from the checkpoint: every order counted exactly once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { concatMap, lastValueFrom, take } from 'rxjs';
import { DurableKVStore, type Change } from '../src/index.js';

interface Order {
  id: number;
  amount: number;
}

const root = mkdtempSync(path.join(tmpdir(), 'durable-kv-feed-'));
const orders = await DurableKVStore.open(path.join(root, 'orders'), { valueEncoding: 'json' });

async function produce(from: number, count: number): Promise<void> {
  for (let id = from; id < from + count; id++) await orders.put(`order:${id}`, { id, amount: (id % 10) + 1 } satisfies Order);
}

/** Processes `limit` changes after the consumer's checkpoint; returns the new total. */
async function consume(limit: number): Promise<{ total: number; checkpoint: number }> {
  const state = await DurableKVStore.open(path.join(root, 'consumer'), { valueEncoding: 'json' });
  const since = (state.get('checkpoint') as number | undefined) ?? 0;
  let total = (state.get('total') as number | undefined) ?? 0;
  console.log(`consumer starts after seq ${since} with total ${total}`);
  const apply = async (change: Change<unknown>) => {
    for (const op of change.ops) if (op.type === 'put') total += (op.value as Order).amount;
    await state.batch([
      { type: 'put', key: 'total', value: total },
      { type: 'put', key: 'checkpoint', value: change.seq },
    ]);
  };
  await lastValueFrom(orders.changes({ since }).pipe(take(limit), concatMap(apply)), { defaultValue: undefined });
  const checkpoint = state.get('checkpoint') as number;
  await state.close();
  return { total, checkpoint };
}

await produce(1, 100);
let result = await consume(60);
console.log(`consumer stopped at seq ${result.checkpoint}, total ${result.total}`);
await produce(101, 50);
result = await consume(90);
console.log(`consumer caught up at seq ${result.checkpoint}, total ${result.total}`);

const expected = Array.from({ length: 150 }, (_, i) => ((i + 1) % 10) + 1).reduce((sum, amount) => sum + amount, 0);
console.log(expected === result.total ? `every order counted exactly once (expected ${expected})` : `MISMATCH: expected ${expected}`);
await orders.close();
rmSync(root, { recursive: true, force: true });
if (expected !== result.total) process.exit(1);
