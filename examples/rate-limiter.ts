/**
 * A fixed-window rate limiter: at most `limit` requests per client per window, counted with
 * `increment` on keys `rate:<client>:<windowStart>` that expire by themselves.
 *
 *   npm run example:rate-limiter
 *
 * Eight workers hammer the limiter at once. They are concurrent async loops in this one process,
 * sharing the store: a store directory can be open in one place only, and the worker-thread client
 * (`durable-kv/worker`) has no `increment` yet. Each `increment` is atomic (resolved when the write
 * is sequenced, against every write before it), so however the workers interleave, a client gets
 * exactly min(requests, limit) through in a window: no read-then-write race lets an extra one by.
 *
 * Time comes from an injected clock that the example moves by hand, so the output is the same on
 * every run; with the default clock the code is the same.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DurableKVStore } from '../src/index.js';

const windowMs = 1_000;
const limit = 10;
const workers = 8;
// Requests each client sends in each window: some over the limit, some exactly at it, some under.
const demand: Array<Record<string, number>> = [
  { alice: 25, bob: 12, carol: 4 },
  { alice: 8, bob: 30, carol: 10 },
  { alice: 40, bob: 1, carol: 11 },
];

let now = Date.UTC(2025, 0, 1); // the injected clock: epoch ms, moved by the example
const dir = mkdtempSync(path.join(tmpdir(), 'durable-kv-rate-'));
const store = await DurableKVStore.open(dir, { clock: () => now, expiryIntervalMs: 20 });

/** One request: counts it in the client's current window; true if it is within the limit. */
async function allow(client: string): Promise<boolean> {
  const windowStart = Math.floor(now / windowMs) * windowMs;
  // ttlMs = the window, from the last hit: a counter lives at most one window past its own, then
  // frees itself, with no cleanup job. (`expiresAt: windowStart + windowMs` would free it at the end.)
  const count = await store.increment(`rate:${client}:${windowStart}`, 1, { ttlMs: windowMs });
  return count <= limit;
}

console.log(`limit ${limit} requests per client per ${windowMs} ms window; ${workers} concurrent workers`);
let ok = true;
for (const [w, wanted] of demand.entries()) {
  now = Date.UTC(2025, 0, 1) + w * windowMs + 100; // 100 ms into window w
  // One shared queue of requests, interleaved across clients; every worker takes the next one.
  const queue = Object.entries(wanted).flatMap(([client, n]) => Array.from({ length: n }, (_, i) => ({ client, i })));
  queue.sort((a, b) => a.i - b.i || a.client.localeCompare(b.client));
  const allowed: Record<string, number> = {};
  await Promise.all(
    Array.from({ length: workers }, async () => {
      for (let request = queue.shift(); request !== undefined; request = queue.shift()) {
        if (await allow(request.client)) allowed[request.client] = (allowed[request.client] ?? 0) + 1;
      }
    }),
  );
  const windowStart = Math.floor(now / windowMs) * windowMs;
  const parts = Object.entries(wanted).map(([client, n]) => {
    const got = allowed[client] ?? 0;
    const counted = Number(store.get(`rate:${client}:${windowStart}`));
    // The limit held (never more than `limit`) and nothing was lost (every request was counted).
    ok &&= got === Math.min(n, limit) && counted === n;
    return `${client} ${got} of ${n} (counter ${counted})`;
  });
  console.log(`window ${w}: allowed ${parts.join(', ')}`);
}

// The last counters were written at `now` with a TTL of one window: alive 1 ms before it ends...
now += windowMs - 1;
const before = [...store.keys({ prefix: 'rate:' })].length;
// ...gone at its end: reads stop seeing them at once...
now += 1;
const visible = [...store.keys({ prefix: 'rate:' })].length;
// ...and active expiry deletes them from memory within about expiryIntervalMs (`size` counts
// what memory holds, expired keys not yet swept included).
for (let waited = 0; store.size > 0 && waited < 5_000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
console.log(`counters visible: ${before} at ttl - 1 ms, ${visible} at ttl; keys left after active expiry: ${store.size}`);
ok &&= before === Object.keys(demand.at(-1)!).length && visible === 0 && store.size === 0;

await store.close();
rmSync(dir, { recursive: true, force: true });
console.log(ok ? 'rate limiter: limit held for every client in every window' : 'rate limiter: FAILED');
if (!ok) process.exit(1);
