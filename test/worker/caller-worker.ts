import { MessageChannel, type Worker } from 'node:worker_threads';
import { expect, onTestFinished } from 'vitest';
import type { DurableKVStore } from '../../src/index.js';
import { serveStore, type ServeOptions, type StoreMethod, type StoreServer } from '../../src/worker/index.js';
import { firstMessage, startTsWorker } from './ts-worker.js';
import type { Call, CallerRequest, Outcome } from './fixtures/caller.js';

export interface Caller {
  /** Has the worker make `calls` one after another; resolves with their outcomes. */
  call(...calls: Call[]): Promise<Outcome[]>;
  /** The owner's end of the worker's port. */
  server: StoreServer;
  /** The method of every request the owner received from the worker, in order. */
  requests: StoreMethod[];
  worker: Worker;
}

/**
 * A worker thread running fixtures/caller.ts on a RemoteStore served from `store` (with `options`),
 * ready for calls; terminated when the test finishes.
 */
export async function startCaller(store: DurableKVStore<unknown>, options?: ServeOptions): Promise<Caller> {
  const { port1, port2 } = new MessageChannel();
  const server = serveStore(store, port1, options);
  const requests: StoreMethod[] = [];
  port1.on('message', (message: { method: StoreMethod }) => requests.push(message.method));
  const worker = startTsWorker(new URL('./fixtures/caller.ts', import.meta.url), { workerData: { port: port2 }, transferList: [port2] });
  onTestFinished(() => worker.terminate().then(() => undefined));
  expect(await firstMessage(worker)).toBe('ready');
  const call = (...calls: Call[]) => {
    const outcomes = firstMessage<Outcome[]>(worker);
    worker.postMessage({ calls } satisfies CallerRequest);
    return outcomes;
  };
  return { call, server, requests, worker };
}

/** The result of an outcome that must have succeeded. */
export function resultOf(outcome: Outcome | undefined): unknown {
  expect(outcome).toMatchObject({ ok: true });
  return (outcome as Extract<Outcome, { ok: true }>).result;
}
