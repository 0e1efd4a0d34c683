/**
 * Node's `cluster` with 4 worker processes sharing one durable-kv store through its Redis-protocol
 * server on a Unix socket: the primary owns the store (one process may open it) and serves it;
 * each worker counts with INCR through ioredis. Then the server and store close, the store is
 * reopened, and the count is checked: every INCR a worker was answered for is on disk.
 *
 *   npm run example:cluster-mode
 */
import cluster from 'node:cluster';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { DurableKVStore } from '../src/index.js';
import { serveResp } from '../src/server/index.js';

const workers = 4;
const incrementsPerWorker = 250;

if (cluster.isPrimary) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'durable-kv-cluster-'));
  const socket = path.join(dir, 'dkv.sock');
  const store = await DurableKVStore.open(path.join(dir, 'data'));
  const server = await serveResp(store, { unixSocket: socket });
  console.log(`primary ${process.pid}: serving the store on ${socket}`);
  const answered = await Promise.all(
    Array.from({ length: workers }, () => {
      const worker = cluster.fork({ DKV_SOCKET: socket });
      return new Promise<number>((resolve, reject) => {
        worker.on('message', (message: { answered: number }) => resolve(message.answered));
        worker.on('exit', (code) => (code === 0 ? undefined : reject(new Error(`worker exited with ${code}`))));
      });
    }),
  );
  await server.close();
  await store.close();
  const reopened = await DurableKVStore.open(path.join(dir, 'data'));
  const visits = Number(reopened.get('visits'));
  await reopened.close();
  const expected = answered.reduce((sum, count) => sum + count, 0);
  console.log(`workers answered ${expected} INCRs; after a restart the store holds visits = ${visits}`);
  console.log(visits === expected ? 'every answered increment is there' : 'MISMATCH');
  fs.rmSync(dir, { recursive: true, force: true });
  process.exitCode = visits === expected ? 0 : 1;
} else {
  const redis = new Redis({ path: process.env.DKV_SOCKET as string });
  let answered = 0;
  for (let i = 0; i < incrementsPerWorker; i++) {
    await redis.incr('visits');
    answered++;
  }
  console.log(`worker ${process.pid}: ${answered} INCRs answered, last value seen ${await redis.get('visits')}`);
  redis.disconnect();
  process.send?.({ answered }, () => process.exit(0));
}
