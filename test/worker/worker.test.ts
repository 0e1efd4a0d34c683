/**
 * Real worker threads using a store owned by this thread through `connectStore`. The workers are
 * TypeScript files under fixtures/, started with `startTsWorker` (see ts-worker.ts for why and how).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageChannel, type Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { DurableKVStore, dumpWal, type OperationEvent } from '../../src/index.js';
import { createStorePort, serveStore } from '../../src/worker/index.js';
import { closeAfterTest, tempDir } from '../helpers/temp-dir.js';
import { exited, firstMessage, startTsWorker } from './ts-worker.js';
import { writerKey, type WriterData, type WriterMessage } from './fixtures/writer-protocol.js';
import type { Call, CallerRequest, Outcome } from './fixtures/caller.js';

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url);

/** Terminates `worker` when the current test finishes, whatever happened. */
function terminateAfterTest(worker: Worker): Worker {
  onTestFinished(() => worker.terminate().then(() => undefined));
  return worker;
}

describe('concurrent writers in worker threads', () => {
  const workers = 4;
  const writes = 1000;
  const keys = 50;
  let dir: string;
  const done: WriterMessage[] = [];
  const operations: OperationEvent[] = [];
  const lastValues = new Map<string, string | undefined>();
  /** Per worker, the (key, value) of its puts in the WAL, in seq order. */
  const walOrder = new Map<number, Array<[key: string, value: string]>>();

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'durable-kv-workers-'));
    const store = await DurableKVStore.open(dir, { autoSnapshot: false }); // keep the whole WAL to read back
    const subscription = store.operations$.subscribe((event) => operations.push(event));
    const threads = Array.from({ length: workers }, (_, worker) => {
      const port = createStorePort(store);
      const workerData: WriterData = { port, worker, writes, keys };
      return startTsWorker(fixture('writer.ts'), { workerData, transferList: [port] });
    });
    const exits = threads.map((thread) => exited(thread)); // listening from the start: a worker may end before another is done
    try {
      // Every worker is loaded and connected before any writes, so their writes overlap.
      const ready = await Promise.all(threads.map((thread) => firstMessage<WriterMessage>(thread)));
      expect(ready.every((message) => message.type === 'ready')).toBe(true);
      const finished = threads.map((thread) => firstMessage<WriterMessage>(thread));
      for (const thread of threads) thread.postMessage('go');
      done.push(...(await Promise.all(finished)));
      expect(await Promise.all(exits)).toEqual(threads.map(() => 0)); // they end by themselves
      for (let worker = 0; worker < workers; worker++) {
        for (let key = 0; key < keys; key++) lastValues.set(writerKey(worker, key, keys), store.get(writerKey(worker, key, keys)));
      }
    } finally {
      subscription.unsubscribe();
      await Promise.all(threads.map((thread) => thread.terminate()));
      await store.close();
    }
    for await (const line of dumpWal(dir)) {
      const [op, , key, value] = line.split('|');
      const worker = Number(/^w(\d+):/.exec(key)![1]);
      expect(op).toBe('PUT');
      walOrder.set(worker, [...(walOrder.get(worker) ?? []), [key, value]]);
    }
  }, 60_000);

  afterAll(() => {
    if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** What worker `worker` issued, in order. */
  function issued(worker: number): Array<[key: string, value: string]> {
    return Array.from({ length: writes }, (_, j) => [writerKey(worker, j, keys), String(j)]);
  }

  it('acknowledges every write of every worker', () => {
    expect(done).toEqual(Array.from({ length: workers }, () => ({ type: 'done', acknowledged: writes })));
    expect(operations.filter((event) => event.type === 'put')).toHaveLength(workers * writes);
  });

  it('leaves each key at the last value its worker wrote', () => {
    for (let worker = 0; worker < workers; worker++) {
      for (let key = 0; key < keys; key++) {
        expect(lastValues.get(writerKey(worker, key, keys)), writerKey(worker, key, keys)).toBe(String(writes - keys + key));
      }
    }
  });

  it("logs each worker's writes in the order it issued them (WAL, in seq order)", () => {
    for (let worker = 0; worker < workers; worker++) expect(walOrder.get(worker), `worker ${worker}`).toEqual(issued(worker));
  });

  it("emits each worker's writes on operations$ with seqs increasing in issue order", () => {
    for (let worker = 0; worker < workers; worker++) {
      const events = operations.filter((event) => event.key?.startsWith(`w${worker}:`));
      const seqs = events.map((event) => event.seq);
      expect(
        seqs.every((seq, i) => i === 0 || seq > seqs[i - 1]),
        `worker ${worker} seqs increase`,
      ).toBe(true);
      expect(events.map((event) => event.key)).toEqual(issued(worker).map(([key]) => key));
    }
  });

  it('keeps every write across close and reopen', async () => {
    const reopened = await DurableKVStore.open(dir);
    try {
      expect(reopened.size).toBe(workers * keys);
      for (const [key, value] of lastValues) expect(reopened.get(key), key).toBe(value);
    } finally {
      await reopened.close();
    }
  });
});

describe('one owner per directory, across threads', () => {
  /** Runs fixtures/lock-across-threads.ts in a child process: its exit status, signal and output. */
  function runLockScenario(dir: string): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
    const script = fileURLToPath(fixture('lock-across-threads.ts'));
    const child = spawn(process.execPath, ['--import', 'tsx', script, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    return new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    });
  }

  // Run in a child process: a native lock addon that is not thread-safe aborts the whole process when
  // a second thread loads it, and that must not take the test runner down with it.
  it('refuses a worker thread that opens the directory the main thread has open (ERR_STORE_LOCKED), and lets it once closed', async () => {
    const result = await runLockScenario(await tempDir());
    expect({ code: result.code, signal: result.signal }, result.stderr.slice(0, 2000)).toEqual({ code: 0, signal: null });
    expect(JSON.parse(result.stdout)).toEqual({
      whileHeld: { opened: false, code: 'ERR_STORE_LOCKED', isStoreLockedError: true },
      afterClose: { opened: true }, // it was the lock that refused it
    });
  });
});

describe('calls from a worker thread', () => {
  /** A caller worker connected to `store`, ready for calls. */
  async function caller(store: DurableKVStore<unknown>): Promise<{ call: (...calls: Call[]) => Promise<Outcome[]>; worker: Worker }> {
    const port = createStorePort(store);
    const worker = terminateAfterTest(startTsWorker(fixture('caller.ts'), { workerData: { port }, transferList: [port] }));
    expect(await firstMessage(worker)).toBe('ready');
    const call = (...calls: Call[]) => {
      const outcomes = firstMessage<Outcome[]>(worker);
      worker.postMessage({ calls } satisfies CallerRequest);
      return outcomes;
    };
    return { call, worker };
  }

  it('gets the same error class and code as the owner would throw: invalid key -> InvalidArgumentError', async () => {
    const store = closeAfterTest(await DurableKVStore.open(await tempDir(), { valueEncoding: 'json' }));
    const { call } = await caller(store);
    const outcomes = await call(
      { method: 'put', args: [42, 1] },
      { method: 'put', args: ['\uD800', 1] }, // a lone surrogate crosses intact and is refused there
      { method: 'put', args: ['k', { nested: [1, 'two'] }] },
      { method: 'get', args: ['k'] },
      {
        method: 'batch',
        args: [
          [
            { type: 'put', key: 'a', value: 1 },
            { type: 'oops', key: 'b' },
          ],
        ],
      },
    );
    expect(outcomes[0]).toMatchObject({ ok: false, code: 'ERR_INVALID_ARG', errorClass: 'InvalidArgumentError', isDurableKVError: true });
    expect(outcomes[1]).toMatchObject({
      ok: false,
      code: 'ERR_INVALID_ARG',
      errorClass: 'InvalidArgumentError',
      message: expect.stringContaining('surrogate'),
    });
    expect(outcomes[2]).toEqual({ ok: true, result: { ok: true, seq: expect.any(Number) } });
    expect(outcomes[3]).toEqual({ ok: true, result: { nested: [1, 'two'] } });
    expect(outcomes[4]).toMatchObject({ ok: false, code: 'ERR_INVALID_ARG', errorClass: 'InvalidArgumentError' });
    expect(store.has('a')).toBe(false); // the refused batch wrote nothing
  });

  it('rejects calls made after the owner closed the store with ERR_STORE_CLOSED', async () => {
    const store = await DurableKVStore.open(await tempDir());
    const { call, worker } = await caller(store as DurableKVStore<unknown>);
    expect(await call({ method: 'put', args: ['k', 'v'] })).toEqual([{ ok: true, result: { ok: true, seq: expect.any(Number) } }]);

    await store.close();
    const outcomes = await call({ method: 'get', args: ['k'] }, { method: 'put', args: ['k', 'w'] });
    for (const outcome of outcomes) expect(outcome).toMatchObject({ ok: false, code: 'ERR_STORE_CLOSED', errorClass: 'StoreClosedError' });

    worker.postMessage({ close: true } satisfies CallerRequest);
    expect(await exited(worker)).toBe(0);
  });

  it('stops serving a worker that is terminated, and the store goes on serving others', async () => {
    const store = closeAfterTest(await DurableKVStore.open(await tempDir()));
    const { port1, port2 } = new MessageChannel();
    const server = serveStore(store, port1);
    const doomed = startTsWorker(fixture('caller.ts'), { workerData: { port: port2 }, transferList: [port2] });
    expect(await firstMessage(doomed)).toBe('ready');
    await doomed.terminate();
    await server.stopped;

    const { call } = await caller(store as DurableKVStore<unknown>);
    expect(await call({ method: 'put', args: ['k', 'v'] }, { method: 'get', args: ['k'] })).toEqual([
      { ok: true, result: { ok: true, seq: expect.any(Number) } },
      { ok: true, result: 'v' },
    ]);
  });

  it('lets a worker that never closes its RemoteStore end once no call is pending', async () => {
    const store = closeAfterTest(await DurableKVStore.open(await tempDir()));
    const port = createStorePort(store);
    const worker = terminateAfterTest(startTsWorker(fixture('no-close.ts'), { workerData: { port }, transferList: [port] }));
    const exit = exited(worker);
    expect(await firstMessage(worker)).toBe('written');
    expect(await exit).toBe(0);
    expect(store.get('left-open')).toBe('yes');
  });
});
