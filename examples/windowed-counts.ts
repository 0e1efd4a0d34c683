/**
 * Exactly-once windowed counts in a stream pipeline, on an at-least-once message source.
 *
 *   npm run example:windowed-counts
 *
 * A consumer counts page views per 10-second window in keys `window:<start>:<page>`. With the
 * counts it commits its offset (the next message to count) in the same batch, checked against the
 * offset's version (or its absence, the first time): the counts and the offset move together or
 * not at all, and of two deliveries of the same messages racing, only one can commit. So a message
 * the source delivers again (after a crash, or to two consumers during a rebalance) is skipped, or
 * its commit fails and it is skipped on retry: never counted twice. Once the stream has passed a
 * window's end, the window is read with one range, emitted, and dropped with one `deleteRange`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { DurableKVStore, type BatchOperation } from '../src/index.js';

interface Message {
  offset: number;
  ts: number; // event time, epoch ms
  page: string;
}

const windowMs = 10_000;
const t0 = Date.UTC(2025, 0, 1);
const pages = ['home', 'cart', 'checkout', 'home'];
// The source: 160 views, one every 250 ms, over 4 windows. It redelivers from the last ack.
const source: Message[] = Array.from({ length: 160 }, (_, offset) => ({
  offset,
  ts: t0 + offset * 250,
  page: pages[((offset * 7919) % 101) % 4]!,
}));

// Fixed-width starts, so keys sort by time and a window's keys form one range.
const windowOf = (ts: number) => ts - ((ts - t0) % windowMs);
const windowPrefix = (start: number) => `window:${String(start).padStart(15, '0')}:`;
const emitted = new Map<number, Record<string, number>>(); // the downstream sink, keyed by window
const stats = { delivered: 0, counted: 0, conflicts: 0 };

/** Counts the messages of a delivery not counted yet; reads again when another commit came first. */
async function consume(store: DurableKVStore<unknown>, messages: Message[]): Promise<void> {
  for (;;) {
    const offset = store.getEntry('offset'); // { value: the next offset to count, version }
    const fresh = messages.filter((message) => message.offset >= ((offset?.value as number | undefined) ?? 0));
    if (fresh.length === 0) break; // all of it counted already: a redelivery
    const deltas = new Map<string, number>();
    for (const { ts, page } of fresh) {
      const key = windowPrefix(windowOf(ts)) + page;
      deltas.set(key, (deltas.get(key) ?? 0) + 1);
    }
    const ops: BatchOperation<unknown>[] = [...deltas].map(([key, delta]) => ({ type: 'increment', key, delta }));
    ops.push({ type: 'put', key: 'offset', value: fresh.at(-1)!.offset + 1 });
    const check = offset === undefined ? { key: 'offset', absent: true as const } : { key: 'offset', version: offset.version };
    const result = await store.batch(ops, { checks: [check] });
    if (result.ok) {
      stats.counted += fresh.length;
      break;
    }
    stats.conflicts++; // the offset moved since we read it: nothing was written, read it again
  }
  await closeWindows(store, windowOf(messages.at(-1)!.ts));
}

/** Emits and drops every window that ends at or before `before`: the stream has moved past it. */
async function closeWindows(store: DurableKVStore<unknown>, before: number): Promise<void> {
  const [first] = store.keys({ prefix: 'window:', limit: 1 }); // the oldest open window
  if (first === undefined) return;
  for (let start = Number(first.split(':')[1]); start + windowMs <= before; start += windowMs) {
    const counts = Object.fromEntries(
      [...store.range({ prefix: windowPrefix(start) })].map(([key, n]) => [key.split(':')[2], n as number]),
    );
    emitted.set(start, counts); // a crash before the deleteRange below emits the same counts again
    console.log(`window +${(start - t0) / 1000}s closed: ${JSON.stringify(counts)}`);
  }
  await store.deleteRange({ prefix: 'window:', lt: windowPrefix(before) });
}

const dir = mkdtempSync(path.join(tmpdir(), 'durable-kv-windows-'));
const open = () => DurableKVStore.open(dir, { valueEncoding: 'json' });
let store = await open();
let acked = 0; // the source's position for this consumer: it redelivers everything after it
for (let round = 0; acked < source.length; round++) {
  const batch = source.slice(acked, acked + 8 + (round % 3) * 4); // 8, 12, 16...: redeliveries overlap partly
  if (round === 6) {
    // A rebalance: the same batch goes to two consumers at once. Both read the same offset version;
    // one commit wins, the other conflicts, reads again and finds nothing left to count.
    stats.delivered += 2 * batch.length;
    await Promise.all([consume(store, batch), consume(store, batch)]);
    console.log(`offsets ${batch[0]!.offset}-${batch.at(-1)!.offset} went to two consumers at once: ${stats.conflicts} commit refused`);
  } else {
    stats.delivered += batch.length;
    await consume(store, batch);
  }
  if (round === 3 || round === 8) {
    // A crash after the commit, before the ack: the restarted consumer gets these messages again.
    // (A restarted process sees what reopening shows: the batch is one WAL record, so even a kill -9
    // leaves both the counts and the offset, or neither; see crash-recover.)
    await store.close();
    store = await open();
    console.log(`consumer restarted before acking offsets ${batch[0]!.offset}-${batch.at(-1)!.offset}: the source redelivers them`);
    continue;
  }
  acked += batch.length;
}
await closeWindows(store, windowOf(source.at(-1)!.ts) + windowMs); // end of stream: close the last window

// The exact counts, straight from the source, to compare with what the pipeline emitted.
const expected = new Map<number, Record<string, number>>();
for (const { ts, page } of source) {
  const counts = expected.get(windowOf(ts)) ?? expected.set(windowOf(ts), {}).get(windowOf(ts))!;
  counts[page] = (counts[page] ?? 0) + 1;
}
const exact = isDeepStrictEqual(emitted, expected) && stats.counted === source.length && store.size === 1; // only 'offset' left
console.log(
  `delivered ${stats.delivered} messages for ${source.length}: counted ${stats.counted}, skipped ${stats.delivered - stats.counted} already counted`,
);
await store.close();
rmSync(dir, { recursive: true, force: true });
console.log(exact ? 'windowed counts: every message counted exactly once in every window' : 'windowed counts: MISMATCH');
if (!exact) process.exit(1);
