/**
 * One thread owns the store; four worker threads write to it through `connectStore`.
 *
 * The main thread opens the store and serves it on one MessagePort per worker; each worker issues
 * 1000 puts at once (none awaited before the next is sent) and waits for all of them. Then the
 * main thread checks that every write arrived, that each worker's writes were applied in the
 * order it issued them (their seqs, seen on `operations$`, increase in issue order), and that all
 * of it is still there after close and reopen.
 *
 *   npm run example:worker-threads            (npx tsx examples/worker-threads.ts [dir])
 *
 * This file is both the owner and the worker (`isMainThread` tells which). Node 20 cannot start a
 * worker on a .ts file and ignores `--import tsx` in a Worker's execArgv, so under tsx each worker
 * starts on a two-line module that registers tsx's loader in its thread, then imports this file.
 */
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MessageChannel, Worker, isMainThread, parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { DurableKVStore, type OperationEvent } from '../src/index.js';
import { connectStore, serveStore } from '../src/worker/index.js';

const workers = 4;
const putsPerWorker = 1000;

interface WriterData {
  port: MessagePort;
  worker: number;
}

const key = (worker: number, n: number) => `worker-${worker}:${String(n).padStart(4, '0')}`;

if (isMainThread) process.exitCode = await owner();
else await writer(workerData as WriterData);

/** Worker: every put issued at once; replies come back as the owner's group commits complete. */
async function writer({ port, worker }: WriterData): Promise<void> {
  const store = connectStore(port);
  await new Promise((resolve) => {
    parentPort!.once('message', resolve); // 'go', once every worker is up
    parentPort!.postMessage('ready');
  });
  const puts = Array.from({ length: putsPerWorker }, (_, n) => store.put(key(worker, n), JSON.stringify({ worker, n })));
  await Promise.all(puts);
  parentPort!.postMessage(puts.length);
  await store.close(); // the port only: the owner closes the store
}

async function owner(): Promise<number> {
  const dir = process.argv[2] ?? mkdtempSync(path.join(tmpdir(), 'durable-kv-workers-'));
  console.log(`store directory: ${dir}`);
  const store = await DurableKVStore.open(dir);
  const seqs = new Map<string, number>();
  const subscription = store.operations$.subscribe((event: OperationEvent) => {
    if (event.type === 'put' && event.key !== undefined) seqs.set(event.key, event.seq);
  });

  const threads = Array.from({ length: workers }, (_, worker) => startWriter(store, worker));
  await Promise.all(threads.map(({ ready }) => ready));
  const startedMs = performance.now();
  for (const { thread } of threads) thread.postMessage('go');
  const acknowledged = await Promise.all(threads.map(({ done }) => done));
  const elapsedMs = performance.now() - startedMs;
  subscription.unsubscribe();

  const total = acknowledged.reduce((sum, count) => sum + count, 0);
  const stats = store.stats();
  console.log(
    `${workers} workers acknowledged ${total} puts in ${elapsedMs.toFixed(0)} ms (${Math.round(total / (elapsedMs / 1000))} puts/s)`,
  );
  console.log(`owner's store: ${stats.keys} keys, last seq ${stats.lastSeq}, WAL ${stats.walBytes} bytes`);

  let ok = total === workers * putsPerWorker && stats.keys === total;
  for (let worker = 0; worker < workers; worker++) {
    const order = Array.from({ length: putsPerWorker }, (_, n) => seqs.get(key(worker, n)));
    const inOrder = order.every((seq, n) => seq !== undefined && (n === 0 || seq > order[n - 1]!));
    ok &&= inOrder;
    console.log(
      `worker ${worker}: ${acknowledged[worker]} acknowledged, seqs ${order[0]}..${order.at(-1)} ${inOrder ? 'increase in issue order' : 'OUT OF ORDER'}`,
    );
  }
  await store.close();

  const reopened = await DurableKVStore.open(dir);
  let kept = 0;
  for (let worker = 0; worker < workers; worker++) {
    for (let n = 0; n < putsPerWorker; n++) if (reopened.get(key(worker, n)) === JSON.stringify({ worker, n })) kept++;
  }
  await reopened.close();
  ok &&= kept === total;
  console.log(`after close and reopen: ${kept} of ${total} writes there`);
  if (process.argv[2] === undefined) rmSync(dir, { recursive: true, force: true });
  console.log(ok ? 'OK' : 'FAILED');
  return ok ? 0 : 1;
}

/** Starts one writer on its own port: `ready` once it is up, `done` with how many puts it had acknowledged. */
function startWriter(store: DurableKVStore, worker: number): { thread: Worker; ready: Promise<void>; done: Promise<number> } {
  const { port1, port2 } = new MessageChannel();
  serveStore(store, port1);
  const thread = startWorker({ workerData: { port: port2, worker } satisfies WriterData, transferList: [port2] });
  const failed = new Promise<never>((_, reject) => {
    thread.once('error', reject);
    thread.once('exit', (code) => reject(new Error(`worker ${worker} exited (${code}) before reporting`)));
  });
  failed.catch(() => {}); // seen through the races below
  const nextMessage = () => Promise.race([once(thread, 'message').then(([message]) => message), failed]);
  const ready = nextMessage().then(() => undefined);
  const done = ready.then(nextMessage) as Promise<number>; // 'done' can only follow the 'go' sent after ready
  return { thread, ready, done };
}

/** A worker on this file: directly when it is JavaScript, through tsx's loader when it is TypeScript. */
function startWorker(options: ConstructorParameters<typeof Worker>[1]): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL(import.meta.url), options);
  const bootstrap = `import { register } from ${JSON.stringify(import.meta.resolve('tsx/esm/api'))}; register(); await import(${JSON.stringify(import.meta.url)});`;
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(bootstrap)}`), options);
}
