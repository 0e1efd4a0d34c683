import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts a Worker on a TypeScript file.
 *
 * Node 20 cannot load .ts itself, and vitest's transform does not reach worker threads; Node 20
 * also ignores `--import tsx` in a Worker's `execArgv` ("Unknown file extension .ts"). What works,
 * under vitest and under `tsx` alike: start the worker on a two-line ES module (a data: URL) that
 * registers tsx's loader in that thread (`register()` from `tsx/esm/api`) and then imports the .ts
 * entry. The entry's own imports (`../../src/x.js` -> x.ts) resolve through tsx as usual.
 */
export function startTsWorker(entry: URL, options: WorkerOptions = {}): Worker {
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import { register } from ${JSON.stringify(tsxApi)}; register(); await import(${JSON.stringify(entry.href)});`;
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(bootstrap)}`), options);
}

/**
 * The first message `worker` posts; rejects if it fails to start or throws before posting, or
 * exits without posting.
 */
export function firstMessage<T>(worker: Worker): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`worker exited with code ${code} before posting a message`)));
  });
}

/** Resolves with the exit code once `worker` has exited (rejects on an uncaught error). */
export function exited(worker: Worker): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    worker.once('error', reject);
    worker.once('exit', resolve);
  });
}
