/**
 * fsyncgate semantics: after a failed write or fsync the store must assume the kernel dropped the
 * dirty pages. It fails for good (no retry, no further acknowledgements), keeps serving what it
 * acknowledged, closes cleanly, and after a power loss holds every acknowledged write.
 */
import { filter, firstValueFrom } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { BatchOperation, DurableKVStore, StoreOptions, StoreState } from '../../src/index.js';
import { classifyDirectory, walSegmentName } from '../../src/format/file-names.js';
import { walkSegment } from '../../src/format/wal-reader.js';
import { readSnapshot } from '../../src/format/snapshot-reader.js';
import type { FileHandle, FileSystem } from '../../src/fs/file-system.js';
import { FaultyFileSystem, MemoryFileSystem } from '../../src/testing/index.js';
import { contentsOf, dir, expectCode, modelContents, openStore, putMany, rejectionOf, type CodedError } from './helpers.js';

type Write = BatchOperation<string>[];

interface Harness {
  memory: MemoryFileSystem;
  faulty: FaultyFileSystem;
  store: DurableKVStore<string>;
  /** Every acknowledged write, applied. */
  model: Map<string, string>;
  errors: Error[];
  states: StoreState[];
}

/** A store on a faulty in-memory file system with some acknowledged puts, a batch and a delete. */
async function setUp(options: StoreOptions = {}): Promise<Harness> {
  const memory = new MemoryFileSystem();
  const faulty = new FaultyFileSystem({ inner: memory, seed: 0xf5 });
  const store = await openStore(faulty, options);
  const errors: Error[] = [];
  store.on('error', (error) => errors.push(error));
  const states: StoreState[] = [];
  store.state$.subscribe((state) => states.push(state));
  const model = new Map<string, string>();
  await putMany(store, model, 12);
  await store.batch([
    { type: 'put', key: 'b1', value: 'one' },
    { type: 'put', key: 'b2', value: 'two' },
    { type: 'delete', key: 'k0' },
  ]);
  model.set('b1', 'one').set('b2', 'two').delete('k0');
  await store.delete('k1');
  model.delete('k1');
  return { memory, faulty, store, model, errors, states };
}

function apply(model: Map<string, string>, write: Write): void {
  for (const op of write) {
    if (op.type === 'put') model.set(op.key, op.value);
    else model.delete(op.key);
  }
}

/** The failing write: a batch, so that all-or-none can be checked after recovery. */
const failingBatch: Write = [
  { type: 'put', key: 'k2', value: 'overwritten' },
  { type: 'put', key: 'new', value: 'never acknowledged' },
  { type: 'delete', key: 'k3' },
];

/**
 * What the store may hold after recovery: every acknowledged write, then some prefix (in log order) of
 * the rejected ones, each batch entirely or not at all.
 */
function possibleContents(model: ReadonlyMap<string, string>, rejected: readonly Write[]): Array<Record<string, string>> {
  const growing = new Map(model);
  const possible = [modelContents(growing)];
  for (const write of rejected) {
    apply(growing, write);
    possible.push(modelContents(growing));
  }
  return possible;
}

/** Puts until the newest segment is full, so the next write starts a new segment; returns both names. */
async function fillSegment(h: Harness, segmentBytesMax: number): Promise<{ full: string; next: string }> {
  for (let i = 0; i < 100; i++) {
    const { name: newest, firstSeq } = classifyDirectory(await h.memory.readdir(dir)).segments.at(-1)!;
    // Used bytes, not the file's size: under sync 'always' the segment is preallocated with zeros.
    const usedBytes = walkSegment(Buffer.from(h.memory.fileBytes(`${dir}/${newest}`)!), firstSeq - 1, () => {}).validBytes;
    if (usedBytes >= segmentBytesMax) {
      return { full: newest, next: walSegmentName(h.store.stats().lastSeq + 1) };
    }
    await h.store.put(`fill${i}`, 'x'.repeat(20));
    h.model.set(`fill${i}`, 'x'.repeat(20));
  }
  throw new Error('the segment never filled up');
}

interface Scenario {
  name: string;
  options?: StoreOptions;
  /** Arms the fault, then makes the call it hits; returns that call's rejection and the writes rejected. */
  provoke(h: Harness): Promise<{ error: CodedError; rejected: Write[] }>;
  /** What the failure's message must say. */
  message?: RegExp;
}

/** Arms `arm`, then issues the failing batch. */
function onWrite(arm: (faulty: FaultyFileSystem) => void): Scenario['provoke'] {
  return async (h) => {
    arm(h.faulty);
    return { error: await rejectionOf(h.store.batch(failingBatch)), rejected: [failingBatch] };
  };
}

/** Fills the current segment, arms the fault (given the full and the next segment's names), issues the batch. */
function onRotation(
  segmentBytesMax: number,
  arm: (faulty: FaultyFileSystem, names: { full: string; next: string }) => void,
): Scenario['provoke'] {
  return async (h) => {
    arm(h.faulty, await fillSegment(h, segmentBytesMax));
    const rejections = h.faulty.stats().failures;
    const error = await rejectionOf(h.store.batch(failingBatch));
    expect(h.faulty.stats().failures, 'the armed fault fired').not.toEqual(rejections);
    return { error, rejected: [failingBatch] };
  };
}

/** Arms `arm`, then runs a snapshot. */
function onSnapshot(arm: (faulty: FaultyFileSystem) => void): Scenario['provoke'] {
  return async (h) => {
    arm(h.faulty);
    return { error: await rejectionOf(h.store.snapshot()), rejected: [] };
  };
}

const wal = { pathIncludes: '.wal' };
const snapTmp = { pathIncludes: '.snap.tmp' };
const small = 256;

const scenarios: Scenario[] = [
  { name: 'a failed WAL fsync (EIO)', provoke: onWrite((f) => f.failNth('sync', 1, 'EIO', wal)), message: /fsync failed \(EIO\)/ },
  { name: 'a failed WAL fsync (ENOSPC)', provoke: onWrite((f) => f.failNth('sync', 1, 'ENOSPC', wal)), message: /disk is full/ },
  { name: 'a failed WAL write (EIO)', provoke: onWrite((f) => f.failNth('append', 1, 'EIO', wal)), message: /write failed \(EIO\)/ },
  { name: 'a failed WAL write (ENOSPC)', provoke: onWrite((f) => f.failNth('append', 1, 'ENOSPC', wal)), message: /disk is full/ },
  { name: 'a torn WAL append', provoke: onWrite((f) => f.tornAppendNth(1, wal)), message: /write failed \(EIO\)/ },
  {
    name: 'a failed fsync of the full segment at rotation',
    options: { segmentBytesMax: small },
    provoke: onRotation(small, (f, { full }) => f.failNth('sync', 1, 'EIO', { pathIncludes: full })),
  },
  {
    name: 'a failed creation of the new segment at rotation',
    options: { segmentBytesMax: small },
    provoke: onRotation(small, (f, { next }) => f.failNth('openAppend', 1, 'EIO', { pathIncludes: next })),
  },
  {
    name: "a failed write of the new segment's header",
    options: { segmentBytesMax: small },
    provoke: onRotation(small, (f, { next }) => f.failNth('append', 1, 'ENOSPC', { pathIncludes: next })),
    message: /disk is full/,
  },
  {
    name: "a failed fsync of the new segment's header",
    options: { segmentBytesMax: small },
    provoke: onRotation(small, (f, { next }) => f.failNth('sync', 1, 'EIO', { pathIncludes: next })),
  },
  {
    name: 'a failed directory fsync of the new segment',
    options: { segmentBytesMax: small },
    // No snapshot runs, so the only directory fsync is the new segment's.
    provoke: onRotation(small, (f) => f.failNth('syncDir', 1, 'EIO')),
  },
  {
    name: 'a failed segment creation at the snapshot barrier',
    provoke: onSnapshot((f) => f.failNth('openAppend', 1, 'EIO', wal)),
  },
  { name: 'a failed creation of the snapshot file', provoke: onSnapshot((f) => f.failNth('openAppend', 1, 'EIO', snapTmp)) },
  // Snapshot appends are coalesced into 4 MiB writes: a small snapshot is one append.
  { name: 'a failed snapshot write (EIO)', provoke: onSnapshot((f) => f.failNth('append', 1, 'EIO', snapTmp)) },
  {
    name: 'a failed snapshot write (ENOSPC)',
    provoke: onSnapshot((f) => f.failNth('append', 1, 'ENOSPC', snapTmp)),
    message: /disk is full/,
  },
  { name: 'a torn snapshot write', provoke: onSnapshot((f) => f.tornAppendNth(1, snapTmp)) },
  { name: 'a failed snapshot fsync', provoke: onSnapshot((f) => f.failNth('sync', 1, 'EIO', snapTmp)) },
  { name: 'a failed snapshot rename', provoke: onSnapshot((f) => f.failNth('rename', 1, 'EIO', snapTmp)) },
  {
    name: 'a failed directory fsync after the snapshot rename',
    provoke: async (h) => {
      // The barrier's new segment takes the first directory fsync; the rename's is the second.
      h.faulty.failNth('syncDir', 2, 'EIO');
      const error = await rejectionOf(h.store.snapshot());
      const snapshots = (await h.memory.readdir(dir)).filter((name) => name.endsWith('.snap'));
      expect(snapshots, 'the rename happened').toHaveLength(1);
      expect(h.memory.listDurable(dir), 'but is not durable').not.toContain(snapshots[0]);
      return { error, rejected: [] };
    },
  },
];

describe.each(scenarios)('after $name', (scenario) => {
  /** Sets up, provokes the failure, and counts fsyncs from then on. */
  async function failed() {
    const h = await setUp(scenario.options);
    const { error, rejected } = await scenario.provoke(h);
    return { h, error, rejected, syncsAtFailure: h.faulty.stats().calls.sync };
  }

  it('rejects the call with ERR_STORE_FAILED and moves the store to failed (state$, one error event)', async () => {
    const { h, error } = await failed();
    expectCode(error, 'ERR_STORE_FAILED');
    if (scenario.message !== undefined) expect(error.message).toMatch(scenario.message);
    expect(h.store.state).toBe('failed');
    expect(h.states).toEqual(['ready', 'failed']);
    expect(h.errors).toEqual([error]);
    await h.store.close();
  });

  it('shows none of the rejected write and keeps serving every acknowledged one', async () => {
    const { h } = await failed();
    expect(h.store.get('new')).toBeUndefined();
    expect(h.store.get('k2')).toBe('value of k2');
    expect(h.store.has('k3')).toBe(true);
    expect(contentsOf(h.store)).toEqual(modelContents(h.model));
    expect(h.store.size).toBe(h.model.size);
    await h.store.close();
  });

  it('rejects every later write and snapshot with ERR_STORE_FAILED, and never fsyncs again', async () => {
    const { h, syncsAtFailure } = await failed();
    const later = await Promise.all([
      rejectionOf(h.store.put('later', 'v')),
      rejectionOf(h.store.delete('k4')),
      rejectionOf(h.store.batch([{ type: 'put', key: 'later', value: 'v' }])),
      rejectionOf(h.store.snapshot()),
    ]);
    for (const error of later) expectCode(error, 'ERR_STORE_FAILED');
    expect(h.store.get('later')).toBeUndefined();
    expect(h.store.get('k4')).toBe('value of k4');
    await h.store.close();
    expect(h.faulty.stats().calls.sync, 'no fsync after the failure, not even at close').toBe(syncsAtFailure);
  });

  it('closes cleanly, releasing the directory', async () => {
    const { h } = await failed();
    await h.store.close();
    expect(h.store.state).toBe('closed');
    const reopened = await openStore(h.memory);
    expect(reopened.state).toBe('ready');
    await reopened.close();
  });

  it.each(['a power loss', 'a clean restart'])(
    'holds every acknowledged write after %s; a failed batch is all or none',
    async (restart) => {
      const { h, rejected } = await failed();
      await h.store.close();
      if (restart === 'a power loss') h.faulty.crash();
      // Whatever a failure left behind, a file named .snap is a whole snapshot: an incomplete one never gets the name.
      for (const name of (await h.memory.readdir(dir)).filter((file) => file.endsWith('.snap'))) {
        const handle = await h.memory.openRead(`${dir}/${name}`);
        await expect(
          readSnapshot(handle, name, () => undefined),
          name,
        ).resolves.toBeDefined();
        await handle.close();
      }
      const reopened = await openStore(h.memory);
      try {
        expect(possibleContents(h.model, rejected)).toContainEqual(contentsOf(reopened));
        // A snapshot file that a failure left incomplete or unrenamed is removed, never loaded.
        expect((await h.memory.readdir(dir)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
        // And the store is fully usable again.
        await reopened.put('after', 'restart');
        expect(reopened.get('after')).toBe('restart');
      } finally {
        await reopened.close();
      }
    },
  );
});

/** Holds chosen appends or fsyncs until the test releases them: in-flight I/O without timing. */
class GatedFileSystem implements FileSystem {
  readonly #inner: FileSystem;
  #holds: Array<{ op: 'append' | 'sync'; pathIncludes: string; reached: () => void; released: Promise<Error | undefined> }> = [];
  syncCalls = 0;

  constructor(inner: FileSystem) {
    this.#inner = inner;
  }

  /** The next `op` on a path containing `pathIncludes` waits; `reached` says it has started. */
  hold(op: 'append' | 'sync', pathIncludes: string): { reached: Promise<void>; release(error?: Error): void } {
    let reached!: () => void;
    let release!: (error: Error | undefined) => void;
    const reachedPromise = new Promise<void>((resolve) => (reached = resolve));
    const released = new Promise<Error | undefined>((resolve) => (release = resolve));
    this.#holds.push({ op, pathIncludes, reached, released });
    return { reached: reachedPromise, release: (error) => release(error) };
  }

  async #gate(op: 'append' | 'sync', filePath: string): Promise<void> {
    const index = this.#holds.findIndex((hold) => hold.op === op && filePath.includes(hold.pathIncludes));
    if (index < 0) return;
    const [hold] = this.#holds.splice(index, 1);
    hold.reached();
    const error = await hold.released;
    if (error !== undefined) throw error;
  }

  async openAppend(filePath: string, create: 'new' | 'truncate' | 'never'): Promise<FileHandle> {
    const handle = await this.#inner.openAppend(filePath, create);
    return {
      append: async (data) => {
        await this.#gate('append', filePath);
        return handle.append(data);
      },
      sync: async () => {
        this.syncCalls++;
        // A failed fsync made nothing durable: the inner sync only runs if the gate lets it through.
        await this.#gate('sync', filePath);
        return handle.sync();
      },
      close: () => handle.close(),
    };
  }

  mkdir = (dirPath: string) => this.#inner.mkdir(dirPath);
  readdir = (dirPath: string) => this.#inner.readdir(dirPath);
  readFile = (filePath: string) => this.#inner.readFile(filePath);
  openRead = (filePath: string) => this.#inner.openRead(filePath);
  rename = (fromPath: string, toPath: string) => this.#inner.rename(fromPath, toPath);
  unlink = (filePath: string) => this.#inner.unlink(filePath);
  truncate = (filePath: string, lengthBytes: number) => this.#inner.truncate(filePath, lengthBytes);
  size = (filePath: string) => this.#inner.size(filePath);
  syncDir = (dirPath: string) => this.#inner.syncDir(dirPath);
  lock = (filePath: string) => this.#inner.lock(filePath);
}

const eio = () => Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });

describe('a failed fsync with writes in flight (group commit)', () => {
  it.each(['before', 'after'])(
    'rejects the group whose fsync failed and the group written while it ran (its write finishing %s the failure)',
    async (order) => {
      const memory = new MemoryFileSystem();
      const gated = new GatedFileSystem(memory);
      const store = await openStore(gated);
      const model = new Map<string, string>();
      await putMany(store, model, 5);
      const fsync = gated.hold('sync', '.wal');
      const first = store.put('first', 'in the failing fsync');
      await fsync.reached;
      const append = gated.hold('append', '.wal');
      const second = store.put('second', 'written during the failing fsync');
      await append.reached;
      const syncsAtFailure = gated.syncCalls;
      if (order === 'before') {
        // The second group's write completes (it waits for the next fsync), then the running fsync fails.
        const secondWritten = firstValueFrom(store.signals$.pipe(filter((signal) => signal.type === 'group-commit')));
        append.release();
        await secondWritten;
        fsync.release(eio());
        expectCode(await rejectionOf(first), 'ERR_STORE_FAILED');
      } else {
        // The fsync fails (and the failure is handled) while the second group's write is still running.
        fsync.release(eio());
        expectCode(await rejectionOf(first), 'ERR_STORE_FAILED');
        append.release();
      }
      expectCode(await rejectionOf(second), 'ERR_STORE_FAILED');
      expectCode(await rejectionOf(store.put('third', 'after the failure')), 'ERR_STORE_FAILED');
      expect(store.state).toBe('failed');
      expect(contentsOf(store)).toEqual(modelContents(model));
      await store.close();
      expect(gated.syncCalls, 'the failed fsync is never retried, the second group never synced').toBe(syncsAtFailure);
      memory.crash();
      const reopened = await openStore(memory);
      expect(contentsOf(reopened)).toEqual(modelContents(model));
      await reopened.close();
    },
  );

  it('rejects every queued write when the fsync of the first group fails', async () => {
    const h = await setUp();
    const syncsBefore = h.faulty.stats().calls.sync;
    h.faulty.failNth('sync', 1, 'EIO', wal);
    // The first write goes out alone; the rest queue behind it as the next group.
    const rejected: Write[] = Array.from({ length: 20 }, (_, i) => [{ type: 'put', key: `q${i}`, value: `v${i}` }]);
    const outcomes = await Promise.allSettled(rejected.map((write) => h.store.batch(write)));
    for (const outcome of outcomes) {
      expect(outcome.status).toBe('rejected');
      expectCode((outcome as PromiseRejectedResult).reason as CodedError, 'ERR_STORE_FAILED');
    }
    expect(contentsOf(h.store)).toEqual(modelContents(h.model));
    await h.store.close();
    expect(h.faulty.stats().calls.sync - syncsBefore, 'the failed fsync, none after').toBe(1);
    h.faulty.crash();
    const reopened = await openStore(h.memory);
    expect(possibleContents(h.model, rejected)).toContainEqual(contentsOf(reopened));
    await reopened.close();
  });
});
