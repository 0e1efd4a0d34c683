/**
 * Replication's costs, measured side by side in one run against a real 3-node nats-server cluster
 * on this machine (the NATS servers share its cores and disk):
 * - W2 (durable put, 64 in flight, 16-byte keys, 100-byte values) on a local store, and on a
 *   replicated leader with ack 'local' and ack 'replicated': puts/s and p50/p99 latency;
 * - follower lag under W2 ack 'replicated': from a put's acknowledgement on the leader to the
 *   follower having applied it (p50/p99, sampled per applied message);
 * - failover: SIGKILL of a `durable-kv serve --replicate` leader to the follower answering
 *   role:master, with the lease TTL it waited out.
 * Medians of `--runs` (default 3) rounds, the configurations interleaved in each round.
 *
 *   npm run bench:replication [-- --runs 3 --ops 20000 --failovers 3]
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { DurableKVStore } from '../src/index.js';
import { follow, replicate } from '../src/replication/index.js';
import { freePort, NatsCluster, natsServerMissing } from '../src/testing/index.js';

const { values: flags } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    ops: { type: 'string', default: '20000' },
    failovers: { type: 'string', default: '3' },
  },
});
const runs = Number(flags.runs);
const ops = Number(flags.ops);
const failovers = Number(flags.failovers);
const inFlight = 64;
const leaseTtlMs = 2_000;

if (natsServerMissing !== undefined) {
  console.error(`bench:replication needs nats-server. ${natsServerMissing}`);
  process.exit(1);
}

const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dkv-bench-replication-'));
const nats = await NatsCluster.start(3);
let groupCounter = 0;
const value = 'v'.repeat(100);
const keyOf = (i: number) => `k${String(i).padStart(15, '0')}`;

type Mode = 'local store' | "ack 'local'" | "ack 'replicated'";
interface W2Result {
  opsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  lagP50Ms?: number;
  lagP99Ms?: number;
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
const median = (values: number[]) =>
  quantile(
    [...values].sort((a, b) => a - b),
    0.5,
  );

/** W2 on a fresh store: `inFlight` writers, `ops` puts in all. */
async function w2(mode: Mode): Promise<W2Result> {
  const group = `bench${++groupCounter}`;
  const store = await DurableKVStore.open(path.join(workDir, `${group}-leader`), { sync: 'always' });
  const replicator =
    mode === 'local store'
      ? undefined
      : await replicate(store, { servers: nats.urls, group, name: 'leader', ack: mode === "ack 'local'" ? 'local' : 'replicated' });
  const replica =
    mode === "ack 'replicated'"
      ? await follow(path.join(workDir, `${group}-follower`), { servers: nats.urls, group, name: 'follower' })
      : undefined;
  const ackedAtMs = new Map<number, number>();
  const lags: number[] = [];
  replica?.on('applied', (seq) => {
    const acked = ackedAtMs.get(seq);
    if (acked !== undefined) lags.push(performance.now() - acked);
  });
  const latencies: number[] = [];
  let next = 0;
  const startedAt = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < ops) {
        const i = next++;
        const begun = performance.now();
        const result = await store.put(keyOf(i), value);
        const done = performance.now();
        latencies.push(done - begun);
        if (replica !== undefined && result.ok) ackedAtMs.set(result.seq, done);
      }
    }),
  );
  const elapsedMs = performance.now() - startedAt;
  if (replica !== undefined) await replica.caughtUpTo(store.stats().lastSeq, 60_000);
  await replica?.close();
  await replicator?.stop();
  await store.close();
  latencies.sort((a, b) => a - b);
  lags.sort((a, b) => a - b);
  return {
    opsPerSecond: (ops / elapsedMs) * 1000,
    p50Ms: quantile(latencies, 0.5),
    p99Ms: quantile(latencies, 0.99),
    ...(replica === undefined ? {} : { lagP50Ms: quantile(lags, 0.5), lagP99Ms: quantile(lags, 0.99) }),
  };
}

function natsVersion(): string {
  return execFileSync('nats-server', ['--version'], { encoding: 'utf8' })
    .trim()
    .replace(/^nats-server: /, '');
}

/** SIGKILL of a served leader to the follower answering role:master (ms). */
async function failover(): Promise<number> {
  const group = `failover${++groupCounter}`;
  const cli = path.join(import.meta.dirname, '../src/cli/main.ts');
  const nodes: Array<{ child: ChildProcess; redis: Redis }> = [];
  try {
    for (const name of ['a', 'b']) {
      const port = await freePort();
      const args = ['--import', 'tsx', cli, 'serve', path.join(workDir, `${group}-${name}`), '--port', String(port)];
      args.push('--replicate', nats.urls.join(','), '--group', group, '--lease-ttl-ms', String(leaseTtlMs));
      const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      while (!stderr.includes('serving ')) await new Promise((resolve) => setTimeout(resolve, 20));
      const redis = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1 });
      redis.on('error', () => {});
      nodes.push({ child, redis });
    }
    const role = async (node: { redis: Redis }) =>
      (await node.redis.info('replication').catch(() => '')).includes('role:master') ? 'master' : 'other';
    let leader: (typeof nodes)[number] | undefined;
    while (leader === undefined) {
      for (const node of nodes) if ((await role(node)) === 'master') leader = node;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    for (let i = 0; i < 100; i++) await leader.redis.set(`k${i}`, 'v');
    const follower = nodes.find((node) => node !== leader)!;
    leader.child.kill('SIGKILL');
    const killedAt = performance.now();
    while ((await role(follower)) !== 'master') await new Promise((resolve) => setTimeout(resolve, 10));
    return performance.now() - killedAt;
  } finally {
    for (const node of nodes) {
      node.redis.disconnect();
      node.child.kill('SIGKILL');
    }
  }
}

try {
  const modes: Mode[] = ['local store', "ack 'local'", "ack 'replicated'"];
  const results = new Map<Mode, W2Result[]>(modes.map((mode) => [mode, []]));
  for (let run = 0; run < runs; run++) {
    for (const mode of modes) results.get(mode)?.push(await w2(mode));
    console.error(`round ${run + 1}/${runs} done`);
  }
  const local = median(results.get('local store')!.map((result) => result.opsPerSecond));
  console.log(
    `\nW2 (durable put, ${inFlight} in flight, ${ops} puts), medians of ${runs}; NATS: 3 nats-server ${natsVersion()} nodes on this machine`,
  );
  console.log('| configuration | puts/s | × local | p50 ms | p99 ms | follower lag p50 ms | p99 ms |');
  console.log('|---|---|---|---|---|---|---|');
  for (const mode of modes) {
    const rows = results.get(mode)!;
    const m = (pick: (result: W2Result) => number | undefined) => median(rows.map((row) => pick(row) ?? Number.NaN));
    const lag = (value: number) => (Number.isNaN(value) ? '' : value.toFixed(2));
    console.log(
      `| ${mode} | ${Math.round(m((r) => r.opsPerSecond))} | ${(m((r) => r.opsPerSecond) / local).toFixed(2)} | ${m((r) => r.p50Ms).toFixed(2)} | ${m((r) => r.p99Ms).toFixed(2)} | ${lag(m((r) => r.lagP50Ms))} | ${lag(m((r) => r.lagP99Ms))} |`,
    );
  }
  const failoverMs: number[] = [];
  for (let i = 0; i < failovers; i++) failoverMs.push(await failover());
  console.log(
    `\nfailover (SIGKILL of the leader → follower is role:master), lease TTL ${leaseTtlMs} ms: median ${Math.round(median(failoverMs))} ms of [${failoverMs.map(Math.round).join(', ')}]`,
  );
} finally {
  await nats.stop();
  fs.rmSync(workDir, { recursive: true, force: true });
}
